/**
 * One Python MLX worker process: spawns it, reads its event lines, writes
 * commands, and watches it. The watchdog kills a worker that stops talking (no
 * line, not even a heartbeat) or that is busy without progress (a wedged Metal
 * call, mlx-lm#1834-style): a static "ok" is not health.
 *
 * The worker never outlives the bridge: it exits on stdin EOF, on a failed
 * protocol write and when the pid given as `--parent-pid` is gone (a SIGKILLed
 * bridge sends no signal of its own); it shares the bridge's process group, so a
 * Ctrl-C or a signal to the group reaches it; and a bridge that exits any other
 * way (an uncaught exception, `process.exit`) terminates it on the way out.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseWorkerEvent, type WorkerCommand, type WorkerEvent, type WorkerEventOf } from './worker-protocol.ts';

/** The worker script shipped with the bridge. */
export const MLX_WORKER_SCRIPT = fileURLToPath(new URL('../../python/mlx_worker.py', import.meta.url).href);

export interface WorkerProcessOptions {
  /** The interpreter (BRIDGE_PYTHON). */
  python: string;
  /** The bridge's own environment, PYTHONPATH included. */
  env: Record<string, string | undefined>;
  heartbeatSec: number;
  idleUnloadSec: number;
  /** Prompt caches kept per model (0: no reuse); default the worker's own. */
  promptCacheEntries?: number;
  /** Kill the worker when it writes nothing at all for this long. */
  silenceTimeoutMs: number;
  /** Kill the worker when it is prefilling or generating without progress for this long. */
  stallTimeoutMs: number;
  log: (line: string) => void;
  now?: () => number;
}

export type WorkerExitReason = 'exited' | 'wedged' | 'spawn_failed' | 'fatal';

export interface WorkerExit {
  reason: WorkerExitReason;
  /** For people: what happened and, where known, what to do. */
  message: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Listener = (event: WorkerEvent) => void;

const MAX_LOGGED_LINE = 500;

export class MlxWorkerProcess {
  /** Resolves when the worker has imported mlx_lm; rejects when it dies first. */
  readonly ready: Promise<WorkerEventOf<'ready'>>;
  /** Resolves once, when the process is gone. */
  readonly exited: Promise<WorkerExit>;

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly listeners = new Set<Listener>();
  private readonly options: WorkerProcessOptions;
  private readonly now: () => number;
  private readonly watchdog: NodeJS.Timeout;
  private lastLineAt: number;
  private lastProgressAt: number;
  private lastProgress = -1;
  private busyPhase: string | null = null;
  private killReason: { reason: WorkerExitReason; message: string } | undefined;
  private exitInfo: WorkerExit | undefined;
  private stdoutRest = '';
  private stderrRest = '';

  constructor(options: WorkerProcessOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.lastLineAt = this.lastProgressAt = this.now();
    const args = [
      '-u',
      MLX_WORKER_SCRIPT,
      '--heartbeat-sec',
      String(options.heartbeatSec),
      '--idle-unload-sec',
      String(options.idleUnloadSec),
      '--parent-pid',
      String(process.pid),
      ...(options.promptCacheEntries === undefined ? [] : ['--prompt-cache-entries', String(options.promptCacheEntries)]),
    ];
    // Not detached: the worker stays in the bridge's process group.
    this.child = spawn(options.python, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const terminateOnExit = (): void => {
      if (this.isAlive) this.child.kill('SIGTERM');
    };
    process.on('exit', terminateOnExit);
    this.child.stdin.on('error', () => undefined); // EPIPE after a crash: the exit handler reports it
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => this.onStderr(chunk));

    let resolveReady!: (event: WorkerEventOf<'ready'>) => void;
    let rejectReady!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.ready.catch(() => undefined); // observed through `exited` when nobody waits on it
    this.listeners.add((event) => {
      if (event.event === 'ready') resolveReady(event);
      if (event.event === 'fatal') this.killReason = { reason: 'fatal', message: `${event.code}: ${event.message}` };
    });

    this.exited = new Promise((resolve) => {
      const finish = (info: WorkerExit): void => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        process.off('exit', terminateOnExit);
        clearInterval(this.watchdog);
        rejectReady(new Error(info.message));
        resolve(info);
      };
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        const hint = error.code === 'ENOENT' ? ' (not found: run `npm run bridge -- setup` for the bridge\'s own Python environment, or set BRIDGE_PYTHON)' : '';
        finish({
          reason: 'spawn_failed',
          message: `could not start ${options.python}${hint}: ${error.message}`,
          code: null,
          signal: null,
        });
      });
      this.child.on('exit', (code, signal) => {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const known = this.killReason;
        finish({
          reason: known?.reason ?? 'exited',
          message: known ? `${known.message} (worker ${how})` : `the MLX worker ${how}`,
          code,
          signal,
        });
      });
    });

    const interval = Math.max(50, Math.min(options.silenceTimeoutMs, options.stallTimeoutMs) / 4);
    this.watchdog = setInterval(() => this.checkLiveness(), interval);
    this.watchdog.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isAlive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes one command line; false when the worker is gone. */
  send(command: WorkerCommand): boolean {
    if (!this.isAlive || !this.child.stdin.writable) return false;
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    return true;
  }

  /** Kills the process at once (SIGKILL), recording why. */
  kill(reason: WorkerExitReason, message: string): void {
    if (!this.isAlive) return;
    this.killReason ??= { reason, message };
    this.child.kill('SIGKILL');
  }

  /** Asks the worker to unload everything and exit; kills it after `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<WorkerExit> {
    if (!this.isAlive) return this.exited;
    this.killReason ??= { reason: 'exited', message: 'the MLX worker was shut down' };
    this.send({ op: 'shutdown' });
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private checkLiveness(): void {
    const now = this.now();
    if (now - this.lastLineAt > this.options.silenceTimeoutMs) {
      this.kill('wedged', `the MLX worker was silent for ${this.options.silenceTimeoutMs} ms and was restarted`);
    } else if (this.busyPhase !== null && this.busyPhase !== 'load' && now - this.lastProgressAt > this.options.stallTimeoutMs) {
      this.kill('wedged', `the MLX worker made no progress for ${this.options.stallTimeoutMs} ms while generating and was restarted`);
    }
  }

  private onStdout(chunk: string): void {
    const lines = (this.stdoutRest + chunk).split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.lastLineAt = this.now();
      const event = parseWorkerEvent(line);
      if (!event) {
        this.options.log(`[mlx-worker] ignored a line that is not a protocol event: ${line.slice(0, MAX_LOGGED_LINE)}`);
        continue;
      }
      this.track(event);
      for (const listener of [...this.listeners]) listener(event);
    }
  }

  private track(event: WorkerEvent): void {
    if (event.event === 'heartbeat') {
      this.busyPhase = event.busy ? (event.phase ?? null) : null;
      if (event.progress !== this.lastProgress) {
        this.lastProgress = event.progress;
        this.lastProgressAt = this.now();
      }
    } else if (event.event === 'delta' || event.event === 'progress' || event.event === 'done') {
      this.lastProgressAt = this.now();
    }
  }

  private onStderr(chunk: string): void {
    const lines = (this.stderrRest + chunk).split('\n');
    this.stderrRest = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') this.options.log(line.slice(0, MAX_LOGGED_LINE));
  }
}
