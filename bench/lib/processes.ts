/**
 * Every process the bench starts runs in its own process group and is listed
 * here, so one `stopAll()` (in a finally, on Ctrl-C, on SIGTERM) takes every
 * group down, grandchildren (workerd under wrangler) included.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { listProcesses } from '../../scripts/process-tree.ts';
import { safeParseJson } from '../../protocol/validate.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const STOP_GRACE_MS = 5_000;

export interface GroupProcess {
  name: string;
  child: ChildProcess;
  /** The last 20 kB of stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the first stdout line `{"ready": …}`, or rejects when the process exits first. */
  ready(timeoutMs: number): Promise<unknown>;
  /** Resolves once the process itself has exited. */
  exited: Promise<void>;
  /** SIGTERM to the group, SIGKILL after a grace period; resolves when no member is left. */
  stop(): Promise<void>;
}

const running = new Set<GroupProcess>();

/** A port nothing listens on right now (and that refuses connections until someone binds it). */
export function freePort(): Promise<number> {
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

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

function groupAlive(pgid: number): boolean {
  return listProcesses().some((entry) => entry.pgid === pgid);
}

async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  signalGroup(pgid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((done) => (timer = setTimeout(() => done(true), STOP_GRACE_MS))),
  ]);
  clearTimeout(timer);
  if (graceOver) signalGroup(pgid, 'SIGKILL');
  // wrangler exits before its workerd does: wait until the whole group is gone.
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) signalGroup(pgid, 'SIGKILL');
    if (Date.now() > deadline + STOP_GRACE_MS) throw new Error(`processes of group ${pgid} survived SIGKILL`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Starts `command` in a new process group, registered for `stopAll()`. */
export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; afterStop?: () => void } = {},
): GroupProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', ...options.env },
  });
  let output = '';
  const keep = (text: string): void => {
    output = (output + text).slice(-20_000);
  };
  const readyValues: unknown[] = [];
  const readyWaiters: Array<() => void> = [];
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(`${line}\n`);
      const parsed = line.startsWith('{') ? safeParseJson(line) : { ok: false as const };
      if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null && 'ready' in parsed.value) {
        readyValues.push(parsed.value.ready);
        for (const wake of readyWaiters.splice(0)) wake();
      }
    });
  }
  child.stderr?.on('data', (part: Buffer) => keep(part.toString('utf8')));
  const exited = new Promise<void>((done) => {
    if (child.exitCode !== null) done();
    else child.once('exit', () => done());
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const wake of readyWaiters.splice(0)) wake();
  });
  let stopping: Promise<void> | undefined;
  const handle: GroupProcess = {
    name,
    child,
    output: () => output,
    exited,
    ready(timeoutMs) {
      return new Promise((resolveReady, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
        const check = (): void => {
          if (readyValues.length > 0) {
            clearTimeout(timer);
            resolveReady(readyValues[0]);
          } else if (gone) {
            clearTimeout(timer);
            reject(new Error(`${name} exited before it was ready:\n${output}`));
          } else readyWaiters.push(check);
        };
        check();
      });
    },
    stop() {
      stopping ??= stopGroup(child, exited).finally(() => {
        running.delete(handle);
        options.afterStop?.();
      });
      return stopping;
    },
  };
  running.add(handle);
  child.once('error', (error) => keep(`spawn error: ${error.message}\n`));
  return handle;
}

/** Stops every group still running. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((handle) => handle.stop()));
}

/** The process's own SIGKILL of every known group, for the last moment before exit. */
function killAllNow(): void {
  for (const handle of running) if (handle.child.pid !== undefined) signalGroup(handle.child.pid, 'SIGKILL');
}

/** Ctrl-C and SIGTERM stop every group, then exit; a second Ctrl-C kills them at once. */
export function stopEverythingOnSignals(cleanup: () => Promise<void>): void {
  let exiting = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (exiting) {
      killAllNow();
      process.exit(130);
    }
    exiting = true;
    process.stderr.write(`\n${signal}: stopping every process the bench started…\n`);
    void cleanup()
      .then(stopAll)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);
}

/** Polls `url` until it answers below 500, failing early if `owner` exits. */
export async function waitForHttp(url: string, owner: GroupProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void owner.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${owner.name} exited before it answered ${url}:\n${owner.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${owner.name} did not answer ${url} within ${timeoutMs / 1000} s:\n${owner.output()}`);
}

/** Resident set size of the process (and its descendants) in bytes, from `ps`. */
export function rssBytes(pid: number): number {
  const table = listProcesses();
  const members = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const entry of table) {
      if (members.has(entry.ppid) && !members.has(entry.pid)) {
        members.add(entry.pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const member of members) {
    try {
      const status = readStatus(member);
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // No procfs (macOS): ps reports RSS in KiB.
    const kib = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return `VmRSS: ${kib} kB`;
  }
}
