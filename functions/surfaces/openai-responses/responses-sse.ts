/**
 * A committed agent run as the Responses event stream: `event: <type>` and
 * `data: <json>` per event, as OpenAI sends them (no `[DONE]`). The headers go
 * out with `response.created` at once. Before the terminal event, `beforeEnd`
 * runs (storing the response), so a client that continues at once finds it.
 * A failure after commit, the model's or the store's, ends the stream with
 * `error` and `response.failed`, never with `response.completed`. While the
 * model is silent, a comment every `keepAliveMs` keeps proxies from timing out.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { toGatewayError, type GatewayError, type OpenAIErrorBody } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { encodeSseComment, encodeSseEvent } from '../../../protocol/sse.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import { startTimer, type Timer } from '../../../protocol/time.ts';
import { KEEP_ALIVE_MS } from '../../http/sse-response.ts';
import type { ResponseEncoder, ResponsesEvent } from './response-event-encoder.ts';
import type { ResponseObject } from './response-object.ts';

export interface ResponsesSseOptions {
  headers: Record<string, string>;
  deps: RuntimeDeps;
  /** The in-band error, every field scrubbed of secrets. */
  errorBody: (error: GatewayError) => OpenAIErrorBody;
  /** Runs after the last item closed and before the terminal event; a throw fails the response. */
  beforeEnd?: (response: ResponseObject) => Promise<void>;
  keepAliveMs?: number;
  /** Told how the stream ended: `completed`, an error code, or `cancelled`. */
  onEnd?: (outcome: string) => void;
}

const SILENT = Symbol('silent');

/** The streaming response for `result`, encoded by `encoder`. */
export function responsesSse(result: AgentResult, encoder: ResponseEncoder, options: ResponsesSseOptions): Response {
  const bytes = new TextEncoder();
  const iterator = result.events[Symbol.asyncIterator]();
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  // A read that outlived a keep-alive tick is awaited again by the next pull, never repeated.
  let pending: Promise<IteratorResult<ChatEvent>> | undefined;
  let ended = false;
  let finished = false;
  const end = (outcome: string): void => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, events: ResponsesEvent[]): void => {
    controller.enqueue(bytes.encode(events.map((event) => encodeSseEvent(event.type, event)).join('')));
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, thrown: unknown): void => {
    const failure = toGatewayError(thrown);
    const { error } = options.errorBody(failure);
    send(controller, encoder.fail({ code: error.code ?? error.type, message: error.message, param: error.param }));
    controller.close();
    end(failure.code ?? failure.type);
  };

  const nextOrSilence = async (): Promise<IteratorResult<ChatEvent> | typeof SILENT> => {
    pending ??= iterator.next();
    let timer: Timer | undefined;
    const tick = new Promise<typeof SILENT>((resolve) => {
      timer = startTimer(keepAliveMs, options.deps, () => resolve(SILENT));
    });
    try {
      return await Promise.race([pending, tick]);
    } finally {
      timer?.cancel();
    }
  };

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      send(controller, encoder.start());
    },
    async pull(controller) {
      // A pull that enqueues nothing is never repeated: read on past events that send nothing (progress).
      for (;;) {
        let next: IteratorResult<ChatEvent> | typeof SILENT;
        try {
          next = await nextOrSilence();
        } catch (error) {
          pending = undefined;
          return fail(controller, error);
        }
        if (next === SILENT) {
          controller.enqueue(bytes.encode(encodeSseComment('keep-alive')));
          return;
        }
        pending = undefined;
        if (!next.done) {
          if (next.value.type === 'finish') finished = true;
          const events = encoder.encode(next.value);
          if (events.length === 0) continue;
          return send(controller, events);
        }
        // Read to the end, as the agent layer ends its stream (never cut short with return()).
        if (!finished) return fail(controller, new Error('the model stream ended without a finish'));
        try {
          await options.beforeEnd?.(encoder.response());
        } catch (error) {
          return fail(controller, error);
        }
        send(controller, encoder.complete());
        controller.close();
        end('completed');
        return;
      }
    },
    async cancel() {
      end('cancelled');
      await iterator.return?.();
    },
  });

  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...options.headers,
    },
  });
}
