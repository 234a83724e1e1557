/**
 * Makes the bridge's own Python environment (`npm install`'s postinstall and
 * `npm run bridge -- setup`): a venv from the base interpreter, uv bootstrapped
 * into it from its own hashed lock, then the platform's hashed lock installed
 * by uv (`--require-hashes`, wheels only). A stamp makes a second run a no-op.
 * Why uv and not pip alone: docs/bridge.md ("The bridge's Python environment").
 */
import path from 'node:path';
import { environmentIsCurrent, lockStamp } from './lock-stamp.ts';
import { lockTarget, MIN_PYTHON, PYTHON_ENV_DIR, type PythonEnvLayout } from './python-env-layout.ts';
import type { RunCommand } from './run-command.ts';
import { setupProblemMessage, type SetupProblem } from './setup-messages.ts';

/** The lock of the installer itself (`npm run python:lock` regenerates it). */
export const UV_LOCK = path.join(PYTHON_ENV_DIR, 'requirements-uv.lock');

export type SetupOutcome =
  | { ok: true; status: 'up-to-date' | 'installed'; python: string; seconds: number }
  | { ok: false; problem: SetupProblem; message: string };

export interface SetupDeps {
  run: RunCommand;
  /** A file's text, or undefined when it does not exist. */
  readText: (file: string) => string | undefined;
  writeText: (file: string, text: string) => void;
  /** Milliseconds, for the reported duration. */
  now: () => number;
  /** Progress lines for the user. */
  log: (line: string) => void;
  platform: string;
  arch: string;
  /** The environment pip and uv run with (proxies, index URLs). */
  env: Record<string, string | undefined>;
}

// What pip and uv print when the registry is out of reach (DNS, refused, proxy, timeout).
const NETWORK_TROUBLE = /Failed to (establish|fetch|download)|NewConnectionError|ConnectTimeout|Name or service not known|Temporary failure in name resolution|Connection refused|Network is unreachable|error sending request|dns error|timed out|No matching distribution/i;

function lastLine(text: string): string {
  return text.trim().split('\n').map((line) => line.trim()).filter(Boolean).at(-1) ?? '';
}

/** Parses `3.11.7`; true when it is at least MIN_PYTHON. */
export function isRecentPython(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

/** Sets up (or confirms) the environment of `layout` from `basePython`. Never throws for an expected problem. */
export async function setupPythonEnv(layout: PythonEnvLayout, basePython: string, deps: SetupDeps): Promise<SetupOutcome> {
  const started = deps.now();
  const fail = (problem: SetupProblem, detail?: string): SetupOutcome => ({
    ok: false,
    problem,
    message: setupProblemMessage(problem, { basePython, platform: deps.platform, arch: deps.arch, ...(detail ? { detail } : {}) }),
  });
  const lockFile = layout.lockFile;
  const lockText = lockFile ? deps.readText(lockFile) : undefined;
  const uvLockText = deps.readText(UV_LOCK);
  if (!lockFile || !lockTarget(deps.platform, deps.arch)) return fail('unsupported-platform');
  // A platform MLX runs on, but the checkout lacks its lock: say that, not that MLX cannot run here.
  if (lockText === undefined) return fail('lock-missing', lockFile);
  if (uvLockText === undefined) return fail('lock-missing', UV_LOCK);
  const stamp = lockStamp([lockText, uvLockText]);
  if (await environmentIsCurrent(deps.readText(layout.stampFile), stamp, layout.python, deps.run)) {
    return { ok: true, status: 'up-to-date', python: layout.python, seconds: (deps.now() - started) / 1000 };
  }

  const version = await deps.run(basePython, ['-c', "import sys; print('.'.join(map(str, sys.version_info[:3])))"]);
  if (version.missing || version.code !== 0) return fail('no-python');
  const found = version.stdout.trim();
  if (!isRecentPython(found)) return fail('old-python', found);

  deps.log(`creating ${layout.venvDir} with Python ${found}`);
  // --clear: a stale or half-made environment is rebuilt from nothing (uv's cache makes that quick).
  const venv = await deps.run(basePython, ['-m', 'venv', '--clear', layout.venvDir]);
  if (venv.code !== 0) return fail('no-venv', lastLine(venv.stderr) || lastLine(venv.stdout));

  deps.log('installing uv (hashed lock)');
  const pipFlags = ['--disable-pip-version-check', '--no-input', '--quiet', '--retries', '1', '--timeout', '20'];
  const uv = await deps.run(layout.python, ['-m', 'pip', 'install', ...pipFlags, '--require-hashes', '--only-binary', ':all:', '-r', UV_LOCK], { env: deps.env });
  if (uv.code !== 0) return installFailure('pip', uv.stderr, fail);

  deps.log(`installing ${path.basename(lockFile)} (mlx-lm and its dependencies, hashed)`);
  const uvBinary = path.join(layout.venvDir, 'bin', 'uv');
  const install = await deps.run(uvBinary, ['pip', 'install', '--quiet', '--python', layout.python, '--require-hashes', '--only-binary', ':all:', '-r', lockFile], { env: uvEnvironment(deps.env) });
  if (install.code !== 0) return installFailure('uv', install.stderr, fail);

  // Last, so an interrupted install is never taken for a finished one.
  deps.writeText(layout.stampFile, `${stamp}\n`);
  return { ok: true, status: 'installed', python: layout.python, seconds: (deps.now() - started) / 1000 };
}

/** A mirror configured for pip (PIP_INDEX_URL) serves uv too, unless UV_INDEX_URL names another. */
export function uvEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return env.PIP_INDEX_URL && !env.UV_INDEX_URL ? { ...env, UV_INDEX_URL: env.PIP_INDEX_URL } : env;
}

/** Names the cause in a few words: the network phrase pip or uv used, else the tool's last line. */
function installFailure(tool: string, stderr: string, fail: (problem: SetupProblem, detail?: string) => SetupOutcome): SetupOutcome {
  const network = NETWORK_TROUBLE.exec(stderr);
  return network ? fail('no-registry', `${tool}: ${network[0]}`) : fail('install-failed', `${tool}: ${lastLine(stderr).slice(0, 200)}`);
}
