/**
 * The body of a committed streaming answer, whatever its wire format: each
 * agent event encoded as it arrives, what arrived together (one upstream
 * read, protocol/event-batches.ts) in one write; a keep-alive while the model
 * is silent (one watchdog for the whole stream, not a timer per event); a
 * failure after the commit as the format's in-band error, then the end
 * without the format's terminator. Chat completions (sse-response.ts),
 * Anthropic Messages and the Responses API (functions/surfaces/) differ only in
 * the texts.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { drainAvailable } from '../../protocol/event-batches.ts';
import { toGatewayError, type GatewayError } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { startWaitWatchdog } from '../../protocol/time.ts';

export interface EventStreamFormat {
  /** Sent at once, before any event ('' for none). */
  start: string;
  /** One event's text ('' when it has none to send). */
  encode(event: ChatEvent): string;
  /**
   * Sent after the last event of a complete answer (`data: [DONE]`, or '' for none); a function
   * for a format whose ending first does work that may fail (the Responses API stores the
   * response), a throw ending the stream with `error` instead.
   */
  done: string | (() => Promise<string>);
  /** The in-band error after the commit. */
  error(failure: GatewayError): string;
  /** Sent after every `keepAliveMs` of one silence. */
  keepAlive: string;
}

export interface EventStreamOptions {
  deps: RuntimeDeps;
  keepAliveMs: number;
  /** Told how the stream ended: `done`, an error code, or `cancelled`. */
  onEnd?: (outcome: string) => void;
}

/** The stream of `events` in `format`. */
export function eventStreamBody(events: AsyncIterable<ChatEvent>, format: EventStreamFormat, options: EventStreamOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = events[Symbol.asyncIterator]();
  let ended = false;
  const end = (outcome: string): void => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown): void => {
    const failure = toGatewayError(error);
    controller.enqueue(encoder.encode(format.error(failure)));
    controller.close();
    end(failure.code ?? failure.type);
  };
  let streamController: ReadableStreamDefaultController<Uint8Array> | undefined;
  const keepAlive = startWaitWatchdog(options.keepAliveMs, options.deps, () => {
    if (!ended) streamController?.enqueue(encoder.encode(format.keepAlive));
  });

  return new ReadableStream<Uint8Array>({
    start(controller) {
      streamController = controller;
      if (format.start !== '') controller.enqueue(encoder.encode(format.start));
    },
    async pull(controller) {
      // Until something is sent: a pull that enqueues nothing is not called again, so an
      // event with no text of its own (a second progress report) would stall the stream.
      for (;;) {
        let next: IteratorResult<ChatEvent>;
        keepAlive.begin();
        try {
          next = await iterator.next();
        } catch (error) {
          keepAlive.stop();
          fail(controller, error);
          return;
        } finally {
          keepAlive.end();
        }
        if (next.done) {
          keepAlive.stop();
          let done: string;
          try {
            done = typeof format.done === 'string' ? format.done : await format.done();
          } catch (error) {
            fail(controller, error);
            return;
          }
          if (done !== '') controller.enqueue(encoder.encode(done));
          controller.close();
          end('done');
          return;
        }
        let text = format.encode(next.value);
        for (const event of drainAvailable(iterator)) text += format.encode(event);
        if (text !== '') {
          controller.enqueue(encoder.encode(text));
          return;
        }
      }
    },
    async cancel() {
      keepAlive.stop();
      end('cancelled');
      await iterator.return?.();
    },
  });
}

/** The streaming response around `body`, with the answer's headers. */
export function eventStreamResponse(body: ReadableStream<Uint8Array>, headers: Record<string, string>): Response {
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers },
  });
}
