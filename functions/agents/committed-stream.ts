/**
 * The events of a model after it committed: the first event (already read),
 * then the rest under the idle deadline, which every event restarts (progress
 * too: a model loading for minutes reports every few seconds). A failure from
 * here on cannot fall back (the client has the headers): it is thrown as a
 * GatewayError for the encoder to render. Written as a plain iterator, not an async generator, so
 * `return()` (the client went away) acts at once even while a read is pending.
 *
 * Per event it costs no timer and no listener (one watchdog and one abort
 * listener serve the whole stream: deadlines.ts), and `drain()` passes on the
 * events the model already holds (protocol/event-batches.ts).
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { GatewayError, toGatewayError } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { drainAvailable, type DrainableIterator } from '../../protocol/event-batches.ts';
import { clientClosed, idleTimeout } from './deadlines.ts';
import { startWaitWatchdog } from '../../protocol/time.ts';

export interface CommittedStreamOptions {
  modelId: string;
  first: ChatEvent;
  iterator: AsyncIterator<ChatEvent>;
  /** The attempt's controller: aborting it aborts the upstream. */
  controller: AbortController;
  clientSignal: AbortSignal;
  idleTimeoutMs: number;
  deps: RuntimeDeps;
  breaker: CircuitBreaker;
  /** Does a failure say the model is unhealthy (a dropped bridge does not)? */
  countsAgainstBreaker: (error: GatewayError) => boolean;
  /** Called once when the stream is over, however it ended. */
  onEnd: () => void;
}

/**
 * The abort reason that releases the upstream of a stream that finished: built
 * once, as `abort()` without a reason builds a DOMException (with its stack
 * trace) for every request.
 */
const STREAM_FINISHED = Object.freeze({ finished: true });

function endedEarly(modelId: string): GatewayError {
  return new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_stream_error', message: `${modelId}: the stream ended before the answer was complete` });
}

/** The committed events as an AsyncIterable; see the module comment. */
export function committedEvents(options: CommittedStreamOptions): AsyncIterableIterator<ChatEvent> & DrainableIterator<ChatEvent> {
  const { modelId, iterator, controller, deps } = options;
  const { signal } = controller;
  let firstDelivered = false;
  let sawFinish = false;
  let over = false;
  const idle = startWaitWatchdog(options.idleTimeoutMs, deps, () => controller.abort(idleTimeout(modelId, options.idleTimeoutMs)));
  // The read under way is rejected with the abort's reason: a model that ignores its signal cannot hold the stream.
  let rejectRead: ((reason: unknown) => void) | undefined;
  let listening = false;
  const onAbort = (): void => rejectRead?.(signal.reason);

  function read(): Promise<IteratorResult<ChatEvent>> {
    const next = iterator.next();
    if (signal.aborted) {
      next.catch(() => undefined); // settled later by nobody
      return Promise.reject(signal.reason);
    }
    if (!listening) {
      listening = true;
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return new Promise((resolve, reject) => {
      rejectRead = reject;
      next.then(resolve, reject);
    });
  }

  function finish(reason: unknown): void {
    if (over) return;
    over = true;
    idle.stop();
    if (listening) signal.removeEventListener('abort', onAbort);
    rejectRead = undefined;
    if (!controller.signal.aborted) controller.abort(reason ?? STREAM_FINISHED);
    // Fire and forget: a generator busy in a read settles its return() later.
    iterator.return?.().catch(() => undefined);
    options.onEnd();
  }

  function fail(error: unknown): never {
    const failure = options.clientSignal.aborted ? clientClosed() : toGatewayError(error);
    if (!options.clientSignal.aborted && !over && options.countsAgainstBreaker(failure)) options.breaker.recordFailure(modelId, deps.now());
    finish(failure);
    throw failure;
  }

  const events: AsyncIterableIterator<ChatEvent> & DrainableIterator<ChatEvent> = {
    [Symbol.asyncIterator]() {
      return events;
    },
    async next(): Promise<IteratorResult<ChatEvent>> {
      if (over) return { done: true, value: undefined };
      if (!firstDelivered) {
        firstDelivered = true;
        if (options.first.type === 'finish') sawFinish = true;
        return { done: false, value: options.first };
      }
      if (sawFinish) {
        finish(undefined);
        return { done: true, value: undefined };
      }
      idle.begin();
      let result: IteratorResult<ChatEvent>;
      try {
        result = await read();
      } catch (error) {
        return fail(error);
      } finally {
        idle.end();
        rejectRead = undefined;
      }
      if (over) return { done: true, value: undefined };
      if (result.done) return fail(endedEarly(modelId));
      if (result.value.type === 'finish') sawFinish = true;
      return result;
    },
    drain(): ChatEvent[] {
      if (over || !firstDelivered || sawFinish) return [];
      const held = drainAvailable(iterator);
      const finishAt = held.findIndex((event) => event.type === 'finish');
      if (finishAt === -1) return held;
      // Nothing after the finish reaches the client, as next() would end there.
      sawFinish = true;
      return finishAt === held.length - 1 ? held : held.slice(0, finishAt + 1);
    },
    async return(): Promise<IteratorResult<ChatEvent>> {
      finish(sawFinish ? undefined : clientClosed());
      return { done: true, value: undefined };
    },
  };
  return events;
}
