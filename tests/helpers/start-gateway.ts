/**
 * The Worker served for real, as end-to-end suites need it: `wrangler dev` on
 * 127.0.0.1 and a free port, configured only by the `--var`s given (an empty
 * env file stands in for `.dev.vars`, so a developer's own secrets never leak
 * into a test), state under a throwaway (or the given) directory.
 *
 *   const gateway = await startGateway({ vars: { GATEWAY_API_KEY: 'k', OPENAI_API_KEY: 'sk-…' } });
 *   await fetch(`${gateway.url}/health`);
 *   await gateway.stop(); // the whole process group, nothing left behind
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listProcesses } from '../../scripts/process-tree.ts';

export interface StartGatewayOptions {
  /** Worker vars and secrets, each passed as `--var NAME:value`. */
  vars: Record<string, string>;
  /** Where wrangler keeps Durable Object state; default: a fresh temp dir, deleted on stop. */
  persistDir?: string;
}

export interface RunningGateway {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Stops wrangler and every process it started; resolves when all are gone. */
  stop(): Promise<void>;
}

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function groupMembers(pgid: number): number[] {
  return listProcesses()
    .filter((entry) => entry.pgid === pgid)
    .map((entry) => entry.pid);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Resolves when no process of the group is left; SIGKILLs the group after the grace period. */
async function stopGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  signalGroup(pgid, 'SIGTERM');
  const graceOver = Symbol('grace');
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([exited, new Promise((done) => (timer = setTimeout(() => done(graceOver), STOP_GRACE_MS)))]);
  clearTimeout(timer);
  if (result === graceOver) signalGroup(pgid, 'SIGKILL');
  // wrangler's exit does not wait for workerd: poll the table until the group is empty.
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) {
      signalGroup(pgid, 'SIGKILL');
      if (Date.now() > deadline + STOP_GRACE_MS) throw new Error(`processes of group ${pgid} survived SIGKILL`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function waitForHealth(url: string, exited: Promise<unknown>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`wrangler dev exited before the Worker was ready:\n${output()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`the Worker did not answer ${url}/health within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`);
}

/** Starts the Worker under `wrangler dev`; resolves once GET /health answers. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-e2e-'));
  const envFile = join(scratch, 'empty.vars');
  writeFileSync(envFile, '');
  const persistDir = options.persistDir ?? join(scratch, 'state');
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = [
    join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
    'dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspectorPort),
    '--env-file', envFile,
    '--persist-to', persistDir,
    '--show-interactive-dev-session=false',
    ...Object.entries(options.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ];
  // Its own process group, so stop() reaches workerd too.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((done) => child.once('exit', done));
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= stopGroup(child, exited).finally(() => rmSync(scratch, { recursive: true, force: true }));
    return stopped;
  };
  try {
    await waitForHealth(url, exited, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
