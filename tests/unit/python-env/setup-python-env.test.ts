/**
 * Setting up the bridge's own Python environment, over a scripted set of
 * commands and an in-memory file system: what runs, in which order, when it is
 * a no-op, and the one paragraph a user gets when it cannot be done.
 */
import { describe, expect, it } from 'vitest';
import { lockStamp } from '../../../bridge/python-env/lock-stamp.ts';
import { pythonEnvLayout } from '../../../bridge/python-env/python-env-layout.ts';
import type { CommandResult, RunCommand } from '../../../bridge/python-env/run-command.ts';
import { isRecentPython, setupPythonEnv, UV_LOCK, uvEnvironment, type SetupDeps } from '../../../bridge/python-env/setup-python-env.ts';

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '', missing: false });
const failed = (stderr: string): CommandResult => ({ code: 1, stdout: '', stderr, missing: false });
const missing: CommandResult = { code: null, stdout: '', stderr: 'spawn python3 ENOENT', missing: true };

const layout = pythonEnvLayout('/checkout', 'linux', 'x64');
const LOCK = 'mlx-lm==0.32.2 --hash=sha256:aaaa\n';
const UV = 'uv==0.13.9 --hash=sha256:bbbb\n';

/** A scripted world: `answer` decides each command's result; every command is recorded. */
function world(answer: (program: string, args: string[]) => CommandResult, files: Record<string, string> = {}) {
  const disk: Record<string, string> = { [layout.lockFile ?? '']: LOCK, [UV_LOCK]: UV, ...files };
  const commands: string[] = [];
  const run: RunCommand = async (program, args) => {
    commands.push([program, ...args].join(' '));
    return answer(program, args);
  };
  const deps: SetupDeps = {
    run,
    readText: (file) => disk[file],
    writeText: (file, text) => void (disk[file] = text),
    now: () => 0,
    log: () => undefined,
    platform: 'linux',
    arch: 'x64',
    env: { PATH: '/usr/bin' },
  };
  return { deps, disk, commands };
}

const healthyBase = (program: string, args: string[]): CommandResult => (program === 'python3' && args[0] === '-c' ? ok('3.11.7\n') : ok());

describe('the bridge Python environment set-up', () => {
  it('creates the venv, bootstraps uv from its hashed lock, installs the platform lock with hashes, then writes the stamp', async () => {
    const { deps, disk, commands } = world(healthyBase);
    const outcome = await setupPythonEnv(layout, 'python3', deps);
    expect(outcome).toMatchObject({ ok: true, status: 'installed', python: '/checkout/.venv/bridge/bin/python' });
    expect(commands.slice(1)).toEqual([
      'python3 -m venv --clear /checkout/.venv/bridge',
      expect.stringMatching(/^\/checkout\/\.venv\/bridge\/bin\/python -m pip install .*--require-hashes --only-binary :all: -r .*requirements-uv\.lock$/),
      expect.stringMatching(/^\/checkout\/\.venv\/bridge\/bin\/uv pip install .*--python \/checkout\/\.venv\/bridge\/bin\/python --require-hashes --only-binary :all: -r \/checkout\/bridge\/python-env\/requirements-linux-x86_64\.lock$/),
    ]);
    expect(disk[layout.stampFile]).toBe(`${lockStamp([LOCK, UV])}\n`);
  });

  it('does nothing but one quick probe when the stamp matches the lock and the interpreter runs', async () => {
    const { deps, commands } = world(healthyBase, { [layout.stampFile]: `${lockStamp([LOCK, UV])}\n` });
    expect(await setupPythonEnv(layout, 'python3', deps)).toMatchObject({ ok: true, status: 'up-to-date' });
    expect(commands).toEqual(["/checkout/.venv/bridge/bin/python -c import sys"]);
  });

  it('rebuilds when the lock changed since the stamp, or when the environment\'s interpreter no longer runs', async () => {
    const changed = world(healthyBase, { [layout.stampFile]: `${lockStamp(['mlx-lm==0.32.1\n', UV])}\n` });
    expect(await setupPythonEnv(layout, 'python3', changed.deps)).toMatchObject({ status: 'installed' });
    const broken = world((program, args) => (program === layout.python && args[1] === 'import sys' ? missing : healthyBase(program, args)), {
      [layout.stampFile]: `${lockStamp([LOCK, UV])}\n`,
    });
    expect(await setupPythonEnv(layout, 'python3', broken.deps)).toMatchObject({ status: 'installed' });
    expect(broken.commands).toContain('python3 -m venv --clear /checkout/.venv/bridge');
  });

  it('says in one paragraph what to do when there is no Python at all', async () => {
    const { deps } = world(() => missing);
    const outcome = await setupPythonEnv(layout, 'python3', deps);
    expect(outcome).toMatchObject({ ok: false, problem: 'no-python' });
    if (outcome.ok) return;
    expect(outcome.message).toMatch(/no Python interpreter named python3 was found\. Install Python 3\.11 or newer .*BRIDGE_SETUP_PYTHON.*npm run bridge -- setup.*does not need Python/);
    expect(outcome.message).not.toMatch(/\n|at .*\.ts|ENOENT/);
  });

  it('refuses a Python older than the locks need, naming its version', async () => {
    const { deps, commands } = world(() => ok('3.9.6\n'));
    const outcome = await setupPythonEnv(layout, 'python3', deps);
    expect(outcome).toMatchObject({ ok: false, problem: 'old-python', message: expect.stringContaining('python3 is Python 3.9.6') });
    expect(commands.some((command) => command.includes('venv'))).toBe(false);
  });

  it('tells a machine without the package registry to check its network, and writes no stamp', async () => {
    const offline = "ERROR: Could not find a version that satisfies the requirement uv==0.13.9\nERROR: No matching distribution found for uv==0.13.9";
    const { deps, disk } = world((program, args) => (args.includes('pip') ? failed(offline) : healthyBase(program, args)));
    const outcome = await setupPythonEnv(layout, 'python3', deps);
    expect(outcome).toMatchObject({ ok: false, problem: 'no-registry', message: expect.stringMatching(/package registry could not be reached .*HTTPS_PROXY/) });
    expect(disk[layout.stampFile]).toBeUndefined();
  });

  it('reports a failed install by its last line, and a python without venv support as such', async () => {
    const broken = world((program, args) => (program.endsWith('/uv') ? failed('  × hash mismatch for mlx-0.32.4\n') : healthyBase(program, args)));
    expect(await setupPythonEnv(layout, 'python3', broken.deps)).toMatchObject({ ok: false, problem: 'install-failed', message: expect.stringContaining('hash mismatch for mlx-0.32.4') });
    const noVenv = world((program, args) => (args[1] === 'venv' ? failed('The virtual environment was not created successfully because ensurepip is not available.') : healthyBase(program, args)));
    expect(await setupPythonEnv(layout, 'python3', noVenv.deps)).toMatchObject({ ok: false, problem: 'no-venv', message: expect.stringContaining('install python3-venv') });
  });

  it('sends a platform MLX does not support to the vLLM runner without running anything', async () => {
    const intelMac = pythonEnvLayout('/checkout', 'darwin', 'x64');
    const { deps, commands } = world(healthyBase);
    const outcome = await setupPythonEnv(intelMac, 'python3', { ...deps, platform: 'darwin', arch: 'x64' });
    expect(outcome).toMatchObject({ ok: false, problem: 'unsupported-platform', message: expect.stringContaining('darwin/x64') });
    expect(commands).toEqual([]);
  });

  it('says the lock is missing, not that MLX cannot run here, when a supported platform lacks its lock file', async () => {
    const { deps, disk, commands } = world(healthyBase);
    delete disk[layout.lockFile ?? ''];
    const outcome = await setupPythonEnv(layout, 'python3', deps);
    expect(outcome).toMatchObject({ ok: false, problem: 'lock-missing', message: expect.stringContaining('requirements-linux-x86_64.lock') });
    expect(outcome.ok ? '' : outcome.message).not.toContain('publishes no wheels');
    expect(commands).toEqual([]);
  });

  it("sends uv to the mirror configured for pip, unless uv has its own", () => {
    expect(uvEnvironment({ PIP_INDEX_URL: 'https://mirror/simple' })).toEqual({ PIP_INDEX_URL: 'https://mirror/simple', UV_INDEX_URL: 'https://mirror/simple' });
    expect(uvEnvironment({ PIP_INDEX_URL: 'https://a/simple', UV_INDEX_URL: 'https://b/simple' }).UV_INDEX_URL).toBe('https://b/simple');
    expect(uvEnvironment({ PATH: '/usr/bin' })).toEqual({ PATH: '/usr/bin' });
  });

  it('compares Python versions numerically', () => {
    expect(['3.11.0', '3.12.1', '3.13.0', '4.0.0'].map(isRecentPython)).toEqual([true, true, true, true]);
    expect(['3.10.14', '3.9.6', '2.7.18', 'garbage'].map(isRecentPython)).toEqual([false, false, false, false]);
  });
});
