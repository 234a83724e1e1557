/**
 * The one way a provider streams a chat: POST the translated body, read the
 * SSE answer, translate it into ChatEvents, and guard the stream (abort, cut
 * connections) the same way for every provider.
 *
 * Built for the hot path (docs/benchmarks.md): one hand-written iterator, no
 * generator layers. Each network read is decoded and translated at once, by a
 * synchronous translator, into a queue; `next()` hands out one event and
 * `drain()` (protocol/event-batches.ts) every event already queued, so a
 * consumer pays one promise per network read, not per chunk. A failure found
 * while translating waits until the events before it have been handed out.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { DrainableIterator } from '../../../protocol/event-batches.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { createSseDecoder, type SseEvent } from '../../../protocol/sse.ts';
import type { ProviderConfig } from '../../config.ts';
import { fetchUpstream, streamBroken } from './upstream-fetch.ts';

/** Set by a translator once a delta went out: later failures are then mid-stream. */
export interface TranslationState {
  sawContent: boolean;
}

export interface TranslationContext {
  provider: string;
  secrets: readonly string[];
  state: TranslationState;
}

/** A provider's wire events to ChatEvents, one SSE event at a time, synchronously. */
export interface SseTranslator {
  /** Appends the ChatEvents of `event` to `out`; true once the answer is complete (the rest of the body is not read). Throws GatewayErrors. */
  push(event: SseEvent, out: ChatEvent[]): boolean;
  /** The body ended before the answer was complete: appends what completes it, or throws. */
  end(out: ChatEvent[]): void;
}

export interface UpstreamChat {
  config: ProviderConfig;
  url: string;
  headers: Record<string, string>;
  /** Builds the provider's request body, at the first read (a refused field throws a 400 before any call). */
  body: () => unknown;
  signal: AbortSignal;
  deps: RuntimeDeps;
  translate: (context: TranslationContext) => SseTranslator;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Streams one chat from the upstream as normalized events; see the module comment. */
export function streamUpstreamChat(chat: UpstreamChat): AsyncIterableIterator<ChatEvent> & DrainableIterator<ChatEvent> {
  const { config, signal } = chat;
  const { provider, secrets } = config;
  const state: TranslationState = { sawContent: false };
  const translator = chat.translate({ provider, secrets, state });
  const sse = createSseDecoder();
  const decoder = new TextDecoder('utf-8');
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let queue: ChatEvent[] = [];
  let head = 0;
  /** The translator is done, or the body ended: nothing more is read. */
  let complete = false;
  /** Thrown once the queue before it has been handed out. */
  let failure: unknown;
  let closed = false;

  /** Any failure as the guard of every provider stream says: the caller's abort wins, a broken connection is a stream error. */
  const guard = (error: unknown): unknown => {
    if (signal.aborted) return signal.reason;
    if (GatewayError.isInstance(error)) return error;
    return streamBroken(provider, state.sawContent, 'broke off', error);
  };

  const release = (cancel: boolean): void => {
    if (!reader) return;
    // Fire and forget: a cancel can wait on the network, the caller must not.
    if (cancel) reader.cancel().catch(() => undefined);
    reader.releaseLock();
    reader = undefined;
  };

  const translate = (events: SseEvent[]): void => {
    try {
      for (const event of events) {
        if (translator.push(event, queue)) {
          complete = true;
          release(true);
          return;
        }
      }
    } catch (error) {
      failure = guard(error);
      complete = true;
      release(true);
    }
  };

  const open = async (): Promise<ReadableStreamDefaultReader<Uint8Array>> => {
    const response = await fetchUpstream({ provider, url: chat.url, method: 'POST', headers: chat.headers, body: JSON.stringify(chat.body()), signal, deps: chat.deps, secrets });
    if (!response.body) throw streamBroken(provider, false, 'had no body');
    return response.body.getReader();
  };

  /** Reads until something is queued, a failure is waiting, or the stream is over. */
  const fill = async (): Promise<void> => {
    try {
      reader ??= await open();
      while (head === queue.length && !complete && failure === undefined && !closed) {
        const { done, value } = await reader.read();
        if (closed) return;
        if (done) {
          translate(sse.push(decoder.decode()));
          if (!complete) {
            complete = true;
            release(false);
            try {
              translator.end(queue);
            } catch (error) {
              failure = guard(error);
            }
          }
          return;
        }
        translate(sse.push(decoder.decode(value, { stream: true })));
      }
    } catch (error) {
      if (closed) return; // a read cut short by return()
      // The request itself failed: fetchUpstream classified it (an abort is the signal's reason already).
      if (reader === undefined) throw error;
      failure = guard(error);
      complete = true;
      release(true);
    }
  };

  const take = (): IteratorResult<ChatEvent> => {
    if (head < queue.length) {
      const value = queue[head++]!;
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
      return { done: false, value };
    }
    if (failure !== undefined) {
      const error = failure;
      failure = undefined;
      closed = true;
      throw signal.aborted ? signal.reason : error;
    }
    return DONE;
  };

  const iterator: AsyncIterableIterator<ChatEvent> & DrainableIterator<ChatEvent> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      if (closed) return DONE;
      if (head === queue.length && failure === undefined && !complete) await fill();
      if (closed) return DONE;
      const result = take();
      if (result.done) closed = true;
      return result;
    },
    drain() {
      if (closed || head === queue.length) return [];
      const events = head === 0 ? queue : queue.slice(head);
      queue = [];
      head = 0;
      return events;
    },
    async return() {
      if (!closed) {
        closed = true;
        release(true);
      }
      return DONE;
    },
  };
  return iterator;
}
