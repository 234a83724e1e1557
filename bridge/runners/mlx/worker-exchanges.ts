/**
 * The requests in flight in the MLX worker: each command's events are routed
 * to it by id until its end (`loaded` for a load, `done` for a generation) or
 * an `error`. Aborting sends `cancel`; a consumer that stops early cancels at
 * the next token; a worker exit fails every one of them at once.
 */
import type { GatewayError } from '../../../protocol/gateway-error.ts';
import { tunnelError } from '../../../protocol/tunnel-errors.ts';
import { AsyncQueue } from '../async-queue.ts';
import type { MlxWorkerProcess } from './worker-process.ts';
import type { WorkerCommand, WorkerEvent } from './worker-protocol.ts';

export type WorkerRequestCommand = Extract<WorkerCommand, { op: 'load' | 'generate' }>;

export class WorkerExchanges {
  private readonly pending = new Map<string, AsyncQueue<WorkerEvent>>();
  /** Request id → model id, while the request runs (to name the model in load status). */
  private readonly modelsByRequest = new Map<string, string>();
  private readonly onSettled: (modelId: string) => void;

  /** `onSettled` hears the model of every request that ends, however it ends. */
  constructor(onSettled: (modelId: string) => void) {
    this.onSettled = onSettled;
  }

  /** The model a running request is for. */
  modelOf(requestId: string): string | undefined {
    return this.modelsByRequest.get(requestId);
  }

  /**
   * Sends `command` to the worker `ensureWorker` gives and yields its events until its end or an `error`.
   * Aborting sends `cancel` and throws the abort reason; a worker that is not running throws `runner_crashed`.
   */
  async *run(ensureWorker: () => MlxWorkerProcess, command: WorkerRequestCommand, signal: AbortSignal): AsyncGenerator<WorkerEvent> {
    signal.throwIfAborted();
    const worker = ensureWorker();
    const events = new AsyncQueue<WorkerEvent>();
    this.pending.set(command.id, events);
    this.modelsByRequest.set(command.id, command.model_id);
    let finished = false;
    const onAbort = (): void => {
      worker.send({ op: 'cancel', id: command.id });
      events.fail(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (!worker.send(command)) throw tunnelError('runner_crashed', 'The MLX worker is not running');
      for await (const event of events) {
        yield event;
        const terminal = command.op === 'load' ? event.event === 'loaded' : event.event === 'done';
        if (terminal || event.event === 'error') {
          finished = true;
          return;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.pending.delete(command.id);
      const modelId = this.modelsByRequest.get(command.id);
      this.modelsByRequest.delete(command.id);
      if (modelId !== undefined) this.onSettled(modelId);
      // The consumer stopped early (client gone): stop generating at the next token.
      if (!finished && !signal.aborted && worker.isAlive) worker.send({ op: 'cancel', id: command.id });
    }
  }

  /** Hands a worker event to the request it names, if that request still runs. */
  deliver(event: WorkerEvent): void {
    if ('id' in event && typeof event.id === 'string') this.pending.get(event.id)?.push(event);
  }

  /** Fails every running request with `error` (the worker is gone); returns how many there were. */
  failAll(error: GatewayError): number {
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const events of failed) events.fail(error);
    return failed.length;
  }
}
