/**
 * The bridge's admission control: at most `maxConcurrent` requests run, up to
 * `maxQueue` more wait in order, and anything past that is refused at once with
 * `err busy` + retryAfterMs (like Ollama's 503 at OLLAMA_MAX_QUEUE), never left
 * hanging. Every request it admits is acknowledged in the turn its `req`
 * arrives (`ack running` or `ack queued`, naming the runner), before anything
 * else runs: the gateway fails a request with no ack within ACK_TIMEOUT_MS as
 * `bridge_unresponsive`. Each request carries the `send` of the connection it
 * came on, so a request finishing after a reconnect cannot write onto the new
 * connection.
 * A queued request hears `progress queued` (its place in the queue) at least
 * every `queuedProgressEveryMs` while it waits, so a long wait never looks like
 * a dead stream to the gateway's 30 s idle deadline.
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { BUSY_RETRY_AFTER_MS, tunnelError, tunnelErrorFromThrown } from '../../protocol/tunnel-errors.ts';
import { PROGRESS_EVERY_MS, type FrameOf, type OutgoingFrame } from '../../protocol/tunnel-frames.ts';

export type SendFrame = (frame: OutgoingFrame) => void;
export type RequestFrame = FrameOf<'req'>;

export interface RequestSchedulerOptions {
  maxConcurrent: number;
  maxQueue: number;
  /** Runs one request to its end; never rejects. */
  run: (frame: RequestFrame, signal: AbortSignal, send: SendFrame) => Promise<void>;
  /** The runner that would serve a model, named in the ack (the `x-agent-provider`). */
  runnerFor?: (modelId: string) => string | undefined;
  /** The bridge's local log. */
  log?: (line: string) => void;
  /** Called whenever a request starts or settles (status updates). */
  onChange?: () => void;
  /** While a request is queued, `progress queued` at least this often (default 5 s). */
  queuedProgressEveryMs?: number;
  /** The clock for those keep-alives (injected so tests control time). */
  sleep?: RuntimeDeps['sleep'];
}

/** A queued request's keep-alive cadence (protocol/tunnel-frames.ts says why). */
export const QUEUED_PROGRESS_EVERY_MS = PROGRESS_EVERY_MS;

interface Entry {
  frame: RequestFrame;
  controller: AbortController;
  send: SendFrame;
  /** Aborted when the entry leaves the queue: ends its keep-alive. */
  waiting?: AbortController;
}

export class RequestScheduler {
  private readonly running = new Map<string, Entry>();
  private queue: Entry[] = [];
  private closedWith: GatewayError | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly options: RequestSchedulerOptions;

  constructor(options: RequestSchedulerOptions) {
    this.options = options;
  }

  get inFlight(): number {
    return this.running.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Admits, queues or refuses one request. */
  submit(frame: RequestFrame, send: SendFrame): void {
    const refuse = (error: unknown): void => send({ t: 'err', id: frame.id, ...tunnelErrorFromThrown(error) });
    if (this.closedWith) return refuse(this.closedWith);
    if (this.running.has(frame.id) || this.queue.some((entry) => entry.frame.id === frame.id)) {
      return refuse(tunnelError('protocol', 'Duplicate request id'));
    }
    const entry: Entry = { frame, controller: new AbortController(), send };
    let runner: string | undefined;
    try {
      runner = this.options.runnerFor?.(frame.model);
    } catch (error) {
      // A handler that cannot even pick a runner cannot serve this: answered at once; the details stay in the local log.
      this.options.log?.(`request ${frame.id}: choosing a runner failed: ${error instanceof Error ? error.message : String(error)}`);
      return refuse(error);
    }
    if (this.running.size < this.options.maxConcurrent) {
      send({ t: 'ack', id: frame.id, state: 'running', runner });
      return this.start(entry);
    }
    if (this.queue.length < this.options.maxQueue) {
      this.queue.push(entry);
      send({ t: 'ack', id: frame.id, state: 'queued', queuePos: this.queue.length, runner });
      this.keepAliveWhileQueued(entry);
      this.options.onChange?.();
      return;
    }
    const waitMs = BUSY_RETRY_AFTER_MS * Math.max(1, Math.ceil((this.queue.length + 1) / this.options.maxConcurrent));
    refuse(tunnelError('busy', `The bridge is busy: ${this.running.size} running and ${this.queue.length} queued`, { retryAfterMs: waitMs }));
  }

  /** Aborts a running request, or drops a queued one; `reason` is what its iterator throws. */
  cancel(id: string, reason: GatewayError): void {
    const running = this.running.get(id);
    if (running) return running.controller.abort(reason);
    const index = this.queue.findIndex((entry) => entry.frame.id === id);
    if (index === -1) return;
    const [entry] = this.queue.splice(index, 1);
    entry?.waiting?.abort();
    entry?.send({ t: 'end', id, finish_reason: 'cancelled' });
    this.options.onChange?.();
  }

  /** Stops admitting: new requests and everything queued are refused with `error`. */
  close(error: GatewayError): void {
    this.closedWith = error;
    this.failQueued(error);
  }

  /** Refuses every queued request with `error` (running ones continue). */
  failQueued(error: GatewayError): void {
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) {
      entry.waiting?.abort();
      entry.send({ t: 'err', id: entry.frame.id, ...tunnelErrorFromThrown(error) });
    }
    if (queued.length > 0) this.options.onChange?.();
    this.notifyIfIdle();
  }

  /** Aborts every running request with `reason` and drops the queue. */
  abortAll(reason: GatewayError): void {
    for (const entry of this.queue) entry.waiting?.abort();
    this.queue = [];
    for (const entry of this.running.values()) entry.controller.abort(reason);
    this.notifyIfIdle();
  }

  /** Resolves once nothing is running or queued. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends `progress queued` with the entry's place every interval until it leaves the queue. */
  private keepAliveWhileQueued(entry: Entry): void {
    const waiting = new AbortController();
    entry.waiting = waiting;
    const everyMs = this.options.queuedProgressEveryMs ?? QUEUED_PROGRESS_EVERY_MS;
    const sleep = this.options.sleep ?? defaultRuntimeDeps.sleep;
    const loop = async (): Promise<void> => {
      for (;;) {
        await sleep(everyMs, waiting.signal);
        const position = this.queue.indexOf(entry);
        if (waiting.signal.aborted || position === -1) return;
        entry.send({ t: 'progress', id: entry.frame.id, phase: 'queued', done: position + 1 });
      }
    };
    // The sleep rejects when the entry leaves the queue: that is the loop's end, not a failure.
    loop().catch(() => undefined);
  }

  private start(entry: Entry): void {
    entry.waiting?.abort();
    this.running.set(entry.frame.id, entry);
    this.options.onChange?.();
    // `run` never rejects by contract; should it break that, the request still ends and the bridge lives on.
    void Promise.resolve()
      .then(() => this.options.run(entry.frame, entry.controller.signal, entry.send))
      .catch((error: unknown) => {
        try {
          entry.send({ t: 'err', id: entry.frame.id, ...tunnelErrorFromThrown(error) });
        } catch {
          // The connection is gone: the gateway has already failed the request.
        }
      })
      .finally(() => {
        this.running.delete(entry.frame.id);
        const next = this.queue.shift();
        if (next) this.start(next);
        else this.options.onChange?.();
        this.notifyIfIdle();
      });
  }

  private notifyIfIdle(): void {
    if (this.running.size > 0 || this.queue.length > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
