/**
 * Child processes that must never outlive whoever started them: `npm start`,
 * the test suites and the bench all start servers (wrangler, whose workerd
 * outlives it by a moment; sqld; bridges with a Python worker) and must stop
 * every one of them. Each runs in its own process group, so one signal reaches
 * its grandchildren too, and "stopped" means the group is empty, asked of the
 * process table (scripts/process-tree.ts): grandchildren send no exit event.
 *
 *   const server = spawnGroup(process.execPath, [wrangler, 'dev', …], { name: 'wrangler dev' });
 *   await waitForHttp(`${url}/health`, { name: server.name, exited: server.exited, output: server.output, timeoutMs: 60_000 });
 *   await server.stop(); // SIGTERM to the group, SIGKILL after the grace, resolves when none is left
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { listProcesses } from './process-tree.ts';

const DEFAULT_GRACE_MS = 5_000;
const POLL_MS = 50;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The living members of process group `pgid` (zombies have exited already). */
export function groupMembers(pgid: number): number[] {
  return listProcesses()
    .filter((entry) => entry.pgid === pgid)
    .map((entry) => entry.pid);
}

/** Sends `signal` to every member of the group; a group that is gone already is no error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Resolves with the members still left once the group is empty, or when `timeoutMs` has passed. */
export async function waitForEmptyGroup(pgid: number, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = groupMembers(pgid);
  while (left.length > 0 && Date.now() < deadline) {
    await pause(POLL_MS);
    left = groupMembers(pgid);
  }
  return left;
}

/** Signals the whole group, SIGKILLs what is left after `graceMs`; rejects when a member survives even that. */
export async function stopGroup(pgid: number, options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  signalGroup(pgid, options.signal ?? 'SIGTERM');
  if ((await waitForEmptyGroup(pgid, graceMs)).length === 0) return;
  signalGroup(pgid, 'SIGKILL');
  const survivors = await waitForEmptyGroup(pgid, graceMs);
  if (survivors.length > 0) throw new Error(`processes ${survivors.join(', ')} of group ${pgid} survived SIGKILL`);
}

/** Sends SIGTERM to one child (not its group), SIGKILL when it outlives `graceMs`; resolves once it exited. */
export async function stopProcess(child: ChildProcess, exited: Promise<unknown>, graceMs: number = DEFAULT_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  await exited;
}

/** A child process leading its own process group, with what it prints kept. */
export interface GroupProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The exit code, or the signal's name, once the leader itself has exited. */
  readonly exited: Promise<number | string | null>;
  /** What it printed so far, stdout and stderr interleaved (the last `keepOutputChars`). */
  output(): string;
  /** Resolves once the output matches; rejects when the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Signals the whole group (SIGKILL after the grace) and resolves once no member is left. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnGroupOptions {
  /** For error messages; default: the command. */
  name?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep only the last this many characters of output (default: all of it). */
  keepOutputChars?: number;
  /** `inherit` shows stderr on ours instead of keeping it. */
  stderr?: 'pipe' | 'inherit';
  /** Called with each whole stdout line. */
  onStdoutLine?: (line: string) => void;
  /** How long `stop()` waits before SIGKILL, and again after it. */
  graceMs?: number;
}

const READY_TIMEOUT_MS = 60_000;

/** Spawns `command` as the leader of a new process group (stdin ignored). */
export function spawnGroup(command: string, args: readonly string[], options: SpawnGroupOptions = {}): GroupProcess {
  const name = options.name ?? command;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'],
  });
  const keep = options.keepOutputChars ?? Number.POSITIVE_INFINITY;
  let text = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > keep) text = keep > 0 ? text.slice(-keep) : '';
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  if (options.onStdoutLine && child.stdout) createInterface({ input: child.stdout }).on('line', options.onStdoutLine);
  child.once('error', (error) => append(Buffer.from(`spawn error: ${error.message}\n`)));
  const exited = new Promise<number | string | null>((resolve) => {
    // A spawn error (no such command) emits no 'exit'.
    child.once('error', () => resolve(child.exitCode ?? 'spawn_failed'));
    child.once('exit', (code, signal) => resolve(code ?? signal));
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const listener of [...listeners]) listener();
  });
  const matches = (pattern: string | RegExp): boolean => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
  return {
    name,
    child,
    exited,
    output: () => text,
    waitForOutput(pattern, timeoutMs = READY_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)} from ${name}:\n${text.slice(-4000)}`)), timeoutMs);
        const finish = (error?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = (): void => {
          if (matches(pattern)) finish();
          else if (gone) finish(new Error(`${name} exited before printing ${String(pattern)}:\n${text.slice(-4000)}`));
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.pid !== undefined) await stopGroup(child.pid, { signal, graceMs: options.graceMs });
      await exited;
    },
  };
}

export interface WaitForHttpOptions {
  /** Names the server in errors. */
  name: string;
  timeoutMs: number;
  /** The server's exit: waiting ends with an error at once when it comes first. */
  exited?: Promise<unknown>;
  /** The server's recent output, for the error message. */
  output?: () => string;
  intervalMs?: number;
  /** Which answer means ready; default: a 2xx. */
  isReady?: (response: Response) => boolean;
}

/** Polls `url` until it answers as ready; rejects when the server exits first or the time is up. */
export async function waitForHttp(url: string, options: WaitForHttpOptions): Promise<void> {
  let gone = false;
  void options.exited?.then(() => (gone = true));
  const isReady = options.isReady ?? ((response: Response) => response.ok);
  const tail = (): string => (options.output ? `:\n${options.output().slice(-4000)}` : '');
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${options.name} exited before it answered ${url}${tail()}`);
    try {
      // A bound per probe: a server that accepts and never answers must not stall the wait.
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (isReady(response)) return;
    } catch {
      // Not listening yet.
    }
    await pause(options.intervalMs ?? 100);
  }
  throw new Error(`${options.name} did not answer ${url} within ${options.timeoutMs / 1000} s${tail()}`);
}
