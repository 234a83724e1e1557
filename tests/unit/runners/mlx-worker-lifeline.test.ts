/**
 * The MLX worker never outlives its bridge. It holds the model's memory (GBs on
 * a Mac), so a worker left behind by a crashed bridge is a real cost. Each test
 * runs the real worker script over the mlx_lm double and takes away one of the
 * things that tie it to the bridge: stdin, the protocol pipe, the parent
 * process, or the whole bridge process (SIGKILL, as a crash would).
 *
 * Why the double: a worker that hangs mid-generation (MLX_DOUBLE_HANG_AFTER_TOKENS) and a log
 * of its shutdown calls (MLX_DOUBLE_LOG); the real library cannot be made to hang on demand.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MLX_WORKER_SCRIPT } from '../../../bridge/runners/mlx/worker-process.ts';
import { parseWorkerEvent, type WorkerEvent } from '../../../bridge/runners/mlx/worker-protocol.ts';
import { stillRunning } from '../../../scripts/process-tree.ts';
import { DOUBLE_PATH, HUB_MODEL } from './mlx-harness.ts';

/** How long a worker may take to go once its bridge is gone (about 100 ms with the double). */
const EXIT_BOUND_MS = 3_000;
const HOST_SCRIPT = fileURLToPath(new URL('./worker-host.ts', import.meta.url).href);
const longMessage = Array.from({ length: 400 }, (_, index) => `w${index}`).join(' ');

interface DirectWorker {
  child: ChildProcessWithoutNullStreams;
  events: WorkerEvent[];
  /** Resolves with the first event (seen or to come) that matches. */
  next(match: (event: WorkerEvent) => boolean): Promise<WorkerEvent>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** How many times the double's `mx.clear_cache()` ran: what gives MLX memory back. */
  cacheClears(): number;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The worker spawned the way MlxWorkerProcess spawns it, with the test as its bridge. */
function spawnWorker(extraArgs: string[] = [], env: Record<string, string> = {}): DirectWorker {
  const dir = mkdtempSync(path.join(tmpdir(), 'mlx-lifeline-'));
  const logFile = path.join(dir, 'double-calls.jsonl');
  const args = ['-u', MLX_WORKER_SCRIPT, '--heartbeat-sec', '0.1', '--idle-unload-sec', '600', ...extraArgs];
  const child = spawn('python3', args, {
    env: { PATH: process.env.PATH, PYTHONPATH: DOUBLE_PATH, MLX_DOUBLE_LOG: logFile, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  child.stderr.resume();
  const events: WorkerEvent[] = [];
  const waiters = new Set<() => void>();
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const event = parseWorkerEvent(line);
      if (event) events.push(event);
    }
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    child,
    events,
    exited,
    next(match) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (!found) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        void exited.then(() => {
          if (waiters.delete(check)) reject(new Error(`the worker exited first; events: ${JSON.stringify(events).slice(-1_000)}`));
        });
        check();
      });
    },
    cacheClears: () =>
      existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((line) => line.includes('"clear_cache"')).length : 0,
  };
}

/** Fails instead of waiting forever: a worker that does not go is the bug under test. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

function generate(worker: DirectWorker, id: string): void {
  const command = { op: 'generate', id, model_id: HUB_MODEL, messages: [{ role: 'user', content: longMessage }], generation_config: { max_tokens: 1_000, stop: [] } };
  worker.child.stdin.write(`${JSON.stringify(command)}\n`);
}

const isDelta = (event: WorkerEvent): boolean => event.event === 'delta';

// Generous test timeouts: a worker that does not go must fail on the assertion that says so.
describe('the MLX worker and its bridge', { timeout: 30_000 }, () => {
  it('unloads its model and exits when the bridge closes its stdin', async () => {
    const worker = spawnWorker();
    worker.child.stdin.write(`${JSON.stringify({ op: 'load', id: 'load-1', model_id: HUB_MODEL })}\n`);
    await worker.next((event) => event.event === 'loaded');
    const clearsBefore = worker.cacheClears();

    worker.child.stdin.end();

    expect(await within(worker.exited, EXIT_BOUND_MS, 'the exit')).toEqual({ code: 0, signal: null });
    expect(worker.events).toContainEqual(expect.objectContaining({ event: 'unloaded', model_ids: [HUB_MODEL], reason: 'shutdown' }));
    expect(worker.events.at(-1)?.event).toBe('bye');
    expect(worker.cacheClears()).toBeGreaterThan(clearsBefore);
  });

  it('unloads and exits when a protocol write fails mid-generation, although its stdin is still open', async () => {
    const worker = spawnWorker([], { MLX_DOUBLE_TOKEN_DELAY_MS: '20' });
    generate(worker, 'req-1');
    await worker.next(isDelta);
    const clearsBefore = worker.cacheClears();

    worker.child.stdout.destroy(); // the bridge stops reading: the next delta meets EPIPE

    expect(await within(worker.exited, EXIT_BOUND_MS, 'the exit')).toEqual({ code: 0, signal: null });
    expect(worker.cacheClears()).toBeGreaterThan(clearsBefore);
  });

  it('exits when its parent process is gone, although something else still holds its stdin open', async () => {
    const parent = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    const parentGone = new Promise((resolve) => parent.once('exit', resolve));
    cleanups.push(() => parent.kill('SIGKILL'));
    const worker = spawnWorker(['--parent-pid', String(parent.pid)]);
    await worker.next((event) => event.event === 'ready');

    parent.kill('SIGKILL');
    await parentGone;

    expect(await within(worker.exited, EXIT_BOUND_MS, 'the exit')).toEqual({ code: 0, signal: null });
    expect(worker.events.at(-1)?.event).toBe('bye');
  });

  it('still exits, after its grace period, when the generation thread is stuck in a library call', async () => {
    const worker = spawnWorker(['--exit-grace-sec', '0.3'], { MLX_DOUBLE_HANG_AFTER_TOKENS: '1' });
    generate(worker, 'req-1');
    await worker.next(isDelta);

    worker.child.stdin.end();

    // Code 1: it could not unload (the stuck thread owns every MLX call), so it went without.
    expect(await within(worker.exited, EXIT_BOUND_MS, 'the exit')).toEqual({ code: 1, signal: null });
    expect(worker.events.some((event) => event.event === 'bye')).toBe(false);
  });

  it('dies with its bridge: SIGKILL to the bridge process mid-generation takes the worker with it', async () => {
    const host = spawn(process.execPath, [HOST_SCRIPT], {
      env: { ...process.env, PYTHONPATH: DOUBLE_PATH, MLX_DOUBLE_TOKEN_DELAY_MS: '20' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const hostGone = new Promise((resolve) => host.once('exit', resolve));
    cleanups.push(() => host.kill('SIGKILL'));
    const workerPid = await within(
      new Promise<number>((resolve, reject) => {
        let text = '';
        host.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          const match = /"worker_pid":(\d+)/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        void hostGone.then(() => reject(new Error(`the host exited first: ${text}`)));
      }),
      20_000,
      'the first token through the host',
    );
    cleanups.push(() => {
      if (stillRunning([workerPid]).length > 0) process.kill(workerPid, 'SIGKILL');
    });

    host.kill('SIGKILL');
    await hostGone;

    // Not our child: no exit event reaches us, so ask the process table until it is gone.
    const deadline = Date.now() + EXIT_BOUND_MS;
    while (stillRunning([workerPid]).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(stillRunning([workerPid])).toEqual([]);
  });
});
