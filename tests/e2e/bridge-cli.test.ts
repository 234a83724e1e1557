/**
 * The bridge CLI as a user runs it: real `node bridge/cli.ts` processes, the
 * real Python worker over the mlx_lm test double, and for `start` a loopback
 * WebSocket standing in for the gateway's /bridge/connect.
 *
 * Why the double: `doctor` is asserted with a Python that has mlx_lm and one that lacks it
 * (PYTHONPATH decides), and `start`/`login` only need a worker that answers; the real engine's
 * own doctor report and serving are asserted here (`doctor` by default) and in
 * flows-local-real-engine.test.ts.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeTunnelFrame, parseTunnelFrame, type TunnelFrame } from '../../protocol/tunnel-frames.ts';
import { descendantsOf } from '../../scripts/process-tree.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url).href);
const CLI = path.join(ROOT, 'bridge', 'cli.ts');
const DOUBLE = path.join(ROOT, 'tests', 'mlx_lm');
const TOKEN = 'bridge-test-token-0123456789abcdef';
const HUB_MODEL = 'mlx-community/Llama-3.2-3B-Instruct-4bit';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'bridge-cli-'));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a user would have, minus anything of the bridge's own. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: home, HF_HUB_CACHE: path.join(home, 'hf-cache'), ...extra };
}

function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return runProcess(process.execPath, [CLI, ...args], env, ROOT, stdin);
}

function runProcess(program: string, args: string[], env: Record<string, string>, cwd: string, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, cwd });
    if (stdin !== undefined) child.stdin.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function healthServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('bridge doctor', () => {
  it('says how to fix a missing Python and exits non-zero', async () => {
    const run = await runCli(['doctor'], userEnv({ BRIDGE_PYTHON: path.join(home, 'no-such-python') }));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✗ Python: BRIDGE_PYTHON=.*no-such-python: not found/);
    expect(run.stdout).toContain('fix: install Python 3.11 or newer');
    expect(run.stdout).toContain('✗ Gateway URL: not set');
    expect(run.stdout).toContain('✗ Bridge token: not set');
  });

  it('says how to install mlx-lm when the Python lacks it', async () => {
    // The machine's python3 (named, so the bridge's own environment, which has mlx-lm, is not used).
    const run = await runCli(['doctor', '--url', 'http://127.0.0.1:9', '--token', TOKEN], userEnv({ PYTHONPATH: '', BRIDGE_PYTHON: 'python3' }));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("✗ mlx-lm: cannot import mlx_lm: ModuleNotFoundError: No module named 'mlx_lm'");
    expect(run.stdout).toContain(`python3 -m pip install -U ${process.platform === 'darwin' ? 'mlx-lm' : '"mlx-lm[cpu]"'}`);
    expect(run.stdout).toContain('or unset BRIDGE_PYTHON and run `npm run bridge -- setup`');
    expect(run.stdout).toMatch(/✗ Gateway reachable: GET http:\/\/127\.0\.0\.1:9\/health failed/);
  });

  it('passes every check with mlx_lm importable and the gateway up, without printing the token', async () => {
    const gateway = await healthServer();
    try {
      const run = await runCli(['doctor'], userEnv({ PYTHONPATH: DOUBLE, BRIDGE_PYTHON: 'python3', BRIDGE_URL: gateway.url, BRIDGE_TOKEN: TOKEN }));
      expect(run.stdout).toContain('✓ mlx-lm: mlx-lm 0.32.0+double');
      expect(run.stdout).toContain(`✓ Gateway reachable: GET ${gateway.url}/health → 200`);
      expect(run.stdout).toContain('All checks passed.');
      expect(run.code).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
    } finally {
      await gateway.close();
    }
  });
});

describe("the bridge's own Python environment", () => {
  it('is what doctor checks by default: where it is, mlx and mlx-lm versions, Metal or CPU', async () => {
    const run = await runCli(['doctor'], userEnv());
    const python = path.join(ROOT, '.venv', 'bridge', 'bin', 'python');
    expect(run.stdout).toContain(`✓ Python: ${python}, the bridge's own environment (Python 3.`);
    expect(run.stdout).toMatch(process.platform === 'darwin' ? /✓ mlx: mlx 0\.32\.\d+ on Metal \(Device\(gpu, 0\)\)/ : /✓ mlx: mlx 0\.32\.\d+ on the CPU \(Device\(cpu, 0\)\): MLX's Linux build/);
    expect(run.stdout).toMatch(/✓ mlx-lm: mlx-lm 0\.32\.\d+\n/);
  });

  /** A copy of what `npm run bridge` needs, with its own lock files, sharing node_modules. */
  function checkoutCopy(): string {
    const copy = path.join(home, 'checkout');
    mkdirSync(copy);
    for (const entry of ['bridge', 'protocol', 'package.json', 'scripts/bridge.mjs']) cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    return copy;
  }

  /** The copy's environment "installed" from the same locks: the real stamp, an interpreter that runs. */
  function stampedEnvironment(copy: string): string {
    const venv = path.join(copy, '.venv', 'bridge');
    mkdirSync(path.join(venv, 'bin'), { recursive: true });
    cpSync(path.join(ROOT, '.venv', 'bridge', 'agent-gateway-lock.sha256'), path.join(venv, 'agent-gateway-lock.sha256'));
    symlinkSync(path.join(ROOT, '.venv', 'bridge', 'bin', 'python'), path.join(venv, 'bin', 'python'));
    return venv;
  }

  const npmSetup = (copy: string, env: Record<string, string>): Promise<Run> => runProcess('npm', ['run', '--silent', 'bridge', '--', 'setup'], env, copy);

  it('`npm run bridge -- setup` is a no-op when the environment matches the lock', async () => {
    const copy = checkoutCopy();
    const venv = stampedEnvironment(copy);
    // A base interpreter that does not exist: any attempt to rebuild would fail loudly.
    const run = await npmSetup(copy, userEnv({ BRIDGE_SETUP_PYTHON: path.join(home, 'no-such-python') }));
    expect(run.stdout).toContain(`up to date: ${path.join(venv, 'bin', 'python')} already matches the lock (nothing to do)`);
    expect(run.code).toBe(0);
    expect(readdirSync(venv).sort()).toEqual(['agent-gateway-lock.sha256', 'bin']);
  });

  it('rebuilds when the lock changed, and without Python says in one paragraph what to do, with no stack trace', async () => {
    const copy = checkoutCopy();
    stampedEnvironment(copy);
    const lock = path.join(copy, 'bridge', 'python-env', process.platform === 'darwin' ? 'requirements-macos-arm64.lock' : `requirements-linux-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.lock`);
    writeFileSync(lock, `${readFileSync(lock, 'utf8')}# changed\n`);
    const run = await npmSetup(copy, userEnv({ BRIDGE_SETUP_PYTHON: path.join(home, 'no-such-python') }));
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^The bridge's Python environment was not set up: no Python interpreter named .*no-such-python was found\. Install Python 3\.11 or newer/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at |Error:/);
  });
});

describe('bridge models', () => {
  it('lists LOCAL_MODEL_PATHS entries and downloaded Hub models as available while no bridge runs', async () => {
    const snapshot = path.join(home, 'hf-cache', 'models--mlx-community--Qwen2.5-0.5B-Instruct-4bit', 'snapshots', 'abc123');
    mkdirSync(snapshot, { recursive: true });
    writeFileSync(path.join(snapshot, 'config.json'), '{}');
    writeFileSync(path.join(snapshot, 'model.safetensors'), 'weights');
    const run = await runCli(['models', '--json'], userEnv({ LOCAL_MODEL_PATHS: JSON.stringify({ 'my-llama': '/weights/llama' }) }));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      running: false,
      models: [
        { id: 'mlx-community/Qwen2.5-0.5B-Instruct-4bit', state: 'available', runner: 'mlx' },
        { id: 'my-llama', state: 'available', runner: 'mlx' },
      ],
    });
  });

  it('refuses a malformed LOCAL_MODEL_PATHS, naming it', async () => {
    const run = await runCli(['models'], userEnv({ LOCAL_MODEL_PATHS: '/weights/llama' }));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('LOCAL_MODEL_PATHS: is not valid JSON');
  });
});

describe('bridge install-service', () => {
  it('prints the LaunchAgent and the config it would write, with the token redacted, and writes nothing', async () => {
    const run = await runCli(
      ['install-service', '--dry-run', '--platform', 'darwin', '--url', 'https://gw.example.com', '--token', TOKEN],
      userEnv({ BRIDGE_ALLOW_DOWNLOADS: 'mlx-community/*' }),
    );
    expect(run.code).toBe(0);
    // What the bridge may download goes with it into the service.
    expect(run.stdout).toMatch(/<key>BRIDGE_ALLOW_DOWNLOADS<\/key>\s*<string>mlx-community\/\*<\/string>/);
    // A superseded LaunchAgent exits 0, or launchd would bring it back to take over in turn.
    expect(run.stdout).toMatch(/<key>BRIDGE_SUPERVISOR<\/key>\s*<string>launchd<\/string>/);
    expect(run.stdout).toContain(`# would write ${home}/Library/LaunchAgents/com.agent-gateway.bridge.plist`);
    expect(run.stdout).toContain('<string>com.agent-gateway.bridge</string>');
    expect(run.stdout).toContain(`<string>${CLI}</string>`);
    expect(run.stdout).toMatch(/# would run: launchctl bootstrap gui\/\d+ /);
    expect(run.stdout).toContain('"token": "<redacted>"');
    expect(run.stdout).not.toContain(TOKEN);
    expect(existsSync(path.join(home, 'Library'))).toBe(false);
  });

  it('writes a systemd user unit and a private config file, and removes the unit on uninstall', async () => {
    const env = userEnv({ BRIDGE_URL: 'https://gw.example.com', BRIDGE_TOKEN: TOKEN });
    const install = await runCli(['install-service', '--platform', 'linux', '--no-load'], env);
    expect(install.code).toBe(0);
    const unit = path.join(home, '.config', 'systemd', 'user', 'com-agent-gateway-bridge.service');
    expect(readFileSync(unit, 'utf8')).toContain(`ExecStart=${process.execPath} ${CLI} start --config ${home}/.config/agent-gateway/bridge.json`);
    expect(readFileSync(unit, 'utf8')).not.toContain(TOKEN);
    const configFile = path.join(home, '.config', 'agent-gateway', 'bridge.json');
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toMatchObject({ url: 'https://gw.example.com', token: TOKEN });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);

    const uninstall = await runCli(['uninstall-service', '--platform', 'linux', '--no-load'], userEnv());
    expect(uninstall.code).toBe(0);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(configFile)).toBe(true);
  });

  it('needs a URL and a token', async () => {
    const run = await runCli(['install-service', '--platform', 'linux', '--no-load'], userEnv());
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('needs the gateway URL and token');
  });
});

/** A loopback stand-in for the gateway's /bridge/connect: says welcome, then lets the test send frames. */
async function fakeGateway(): Promise<{
  url: string;
  connected: Promise<{ socket: WebSocket; hello: TunnelFrame; authorization: string | undefined }>;
  frames: TunnelFrame[];
  nextFrame: (match: (frame: TunnelFrame) => boolean) => Promise<TunnelFrame>;
  close: () => Promise<void>;
}> {
  const server = http.createServer((_request, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/bridge/connect', handleProtocols: (protocols) => [...protocols][0] ?? false });
  const frames: TunnelFrame[] = [];
  const waiters = new Set<() => void>();
  const connected = new Promise<{ socket: WebSocket; hello: TunnelFrame; authorization: string | undefined }>((resolve) => {
    wss.on('connection', (socket, request) => {
      socket.on('message', (data) => {
        const parsed = parseTunnelFrame(String(data));
        if (!parsed.ok) return;
        if (parsed.frame.t === 'ping') return void socket.send('{"t":"pong"}');
        frames.push(parsed.frame);
        for (const waiter of [...waiters]) waiter();
        if (parsed.frame.t === 'hello') {
          socket.send(encodeTunnelFrame({ t: 'welcome', sessionId: 'session-1', heartbeatSec: 25, maxFrameBytes: 1024 * 1024 }));
          resolve({ socket, hello: parsed.frame, authorization: request.headers.authorization });
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connected,
    frames,
    nextFrame: (match) =>
      new Promise((resolve) => {
        const check = (): void => {
          const found = frames.find(match);
          if (!found) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('bridge start', () => {
  it('connects, serves a request through the real MLX worker, and stops cleanly on SIGTERM', async () => {
    const gateway = await fakeGateway();
    const child = spawn(process.execPath, [CLI, '--url', gateway.url, '--token', TOKEN], {
      env: userEnv({ PYTHONPATH: DOUBLE, BRIDGE_PYTHON: 'python3' }),
      cwd: ROOT,
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const { socket, hello, authorization } = await gateway.connected;
      expect(authorization).toBe(`Bearer ${TOKEN}`);
      expect(hello).toMatchObject({ t: 'hello', runners: ['mlx'] });
      // The machine is known from the start; MLX's working set only once its worker has run.
      const device = hello.t === 'hello' ? hello.device : undefined;
      expect(device?.memBytes).toBeGreaterThan(0);
      expect(device?.recommendedWorkingSetBytes).toBeUndefined();

      socket.send(
        encodeTunnelFrame({
          t: 'req',
          id: 'req-1',
          op: 'chat.completions',
          model: HUB_MODEL,
          body: { model: `local/${HUB_MODEL}`, messages: [{ role: 'user', content: 'hello from the tunnel' }], max_tokens: 32 },
          deadlineMs: 30_000,
        }),
      );
      const end = await gateway.nextFrame((frame) => (frame.t === 'end' || frame.t === 'err') && frame.id === 'req-1');
      expect(end).toMatchObject({ t: 'end', finish_reason: 'stop' });
      const text = gateway.frames
        .flatMap((frame) => (frame.t === 'delta' && frame.id === 'req-1' ? frame.events : []))
        .map((event) => (event.type === 'text-delta' ? event.text : ''))
        .join('');
      expect(text).toBe('hello from the tunnel');
      const models = await gateway.nextFrame((frame) => frame.t === 'models' && frame.device !== undefined);
      expect(models.t === 'models' && models.device).toMatchObject({ memBytes: device?.memBytes, recommendedWorkingSetBytes: 16 * 1024 ** 3 });

      const stateFile = path.join(home, '.local', 'state', 'agent-gateway', 'bridge-state.json');
      const listed = await runCli(['models', '--json'], userEnv());
      expect(JSON.parse(listed.stdout)).toMatchObject({ running: true, models: [{ id: HUB_MODEL, state: 'loaded', runner: 'mlx' }] });

      // The running bridge keeps its state there, so "gone after SIGTERM" below means something.
      expect(existsSync(stateFile)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('connected to the gateway');
      expect(stdout).toContain(`request #1: ${HUB_MODEL} on mlx`);
      expect(stdout).toMatch(/mlx: loaded mlx-community\/Llama-3\.2-3B-Instruct-4bit/);
      expect(stdout).toContain('SIGTERM: stopping');
      expect(stdout).not.toContain(TOKEN);
      expect(existsSync(stateFile)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await gateway.close();
    }
  });
});

/** The command line of every process in the tree under `pid` (itself included), as `ps` and /proc show it. */
function commandLines(pid: number): string[] {
  return [pid, ...descendantsOf(pid).map((entry) => entry.pid)].flatMap((member) => {
    try {
      return [readFileSync(`/proc/${member}/cmdline`, 'utf8').replaceAll('\0', ' ')];
    } catch {
      return []; // exited meanwhile
    }
  });
}

describe('bridge login', () => {
  it('stores the token from stdin, after which `npm run bridge -- --url` connects with it, and no command line nor output shows it', async () => {
    const configFile = path.join(home, '.config', 'agent-gateway', 'bridge.json');
    const login = await runCli(['login'], userEnv(), `${TOKEN}\n`);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`Stored the bridge token in ${configFile} (mode 0600`);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(login.stdout + login.stderr).not.toContain(TOKEN);

    const doctor = await runCli(['doctor', '--url', 'http://127.0.0.1:9'], userEnv({ PYTHONPATH: DOUBLE }));
    expect(doctor.stdout).toContain(`✓ Bridge token: set (${TOKEN.length} characters), from ${configFile}`);
    expect(doctor.stdout + doctor.stderr).not.toContain(TOKEN);

    const gateway = await fakeGateway();
    // As a user runs it: npm prints its `> node scripts/bridge.mjs …` banner with the arguments.
    const npm = spawn('npm', ['run', 'bridge', '--', '--url', gateway.url], { env: userEnv({ PYTHONPATH: DOUBLE, BRIDGE_PYTHON: 'python3' }), cwd: ROOT });
    let output = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    npm.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      const { authorization } = await gateway.connected;
      expect(authorization).toBe(`Bearer ${TOKEN}`);
      const lines = commandLines(npm.pid!);
      expect(lines.some((line) => line.includes('scripts/bridge.mjs') && line.includes(gateway.url))).toBe(true);
      expect(lines.filter((line) => line.includes(TOKEN))).toEqual([]);
      expect(output).toContain(`scripts/bridge.mjs --url ${gateway.url}`);
      expect(output).not.toContain(TOKEN);
      expect(output).not.toContain('warning: --token');
    } finally {
      for (const entry of descendantsOf(npm.pid!)) process.kill(entry.pid, 'SIGKILL');
      npm.kill('SIGKILL');
      await gateway.close();
    }
  });

  it('says how to log in when no token is anywhere', async () => {
    const run = await runCli(['--url', 'http://127.0.0.1:9'], userEnv());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no bridge token: run `npm run bridge -- login`');
  });

  it('still takes --token, with a warning that ps shows it', async () => {
    const run = await runCli(['doctor', '--url', 'http://127.0.0.1:9', '--token', TOKEN], userEnv({ PYTHONPATH: DOUBLE }));
    expect(run.stderr).toContain('warning: --token is visible to every user of this machine');
    expect(run.stdout).toContain(`! Bridge token: set (${TOKEN.length} characters), from --token: visible to anyone in ps and in npm's banner`);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });
});
