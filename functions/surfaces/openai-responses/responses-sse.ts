/**
 * A committed agent run as the Responses event stream: `event: <type>` and
 * `data: <json>` per event, as OpenAI sends them (no `[DONE]`). The headers go
 * out with `response.created` at once. Before the terminal event, `beforeEnd`
 * runs (storing the response), so a client that continues at once finds it.
 * A failure after commit, the model's or the store's, ends the stream with
 * `error` and `response.failed`, never with `response.completed`. While the
 * model is silent, a comment every `keepAliveMs` keeps proxies from timing out.
 * The stream itself is the one every surface shares (http/event-stream-body.ts).
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { GatewayError, OpenAIErrorBody } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { encodeSseComment, encodeSseEvent } from '../../../protocol/sse.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import { eventStreamBody, eventStreamResponse } from '../../http/event-stream-body.ts';
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

/** The streaming response for `result`, encoded by `encoder`. */
export function responsesSse(result: AgentResult, encoder: ResponseEncoder, options: ResponsesSseOptions): Response {
  const sse = (events: ResponsesEvent[]): string => events.map((event) => encodeSseEvent(event.type, event)).join('');
  let finished = false;
  const body = eventStreamBody(
    result.events,
    {
      start: sse(encoder.start()),
      encode: (event: ChatEvent) => {
        if (event.type === 'finish') finished = true;
        return sse(encoder.encode(event));
      },
      done: async () => {
        if (!finished) throw new Error('the model stream ended without a finish');
        await options.beforeEnd?.(encoder.response());
        return sse(encoder.complete());
      },
      error: (failure: GatewayError) => {
        const { error } = options.errorBody(failure);
        return sse(encoder.fail({ code: error.code ?? error.type, message: error.message, param: error.param }));
      },
      keepAlive: encodeSseComment('keep-alive'),
    },
    { deps: options.deps, keepAliveMs: options.keepAliveMs ?? KEEP_ALIVE_MS, onEnd: (outcome) => options.onEnd?.(outcome === 'done' ? 'completed' : outcome) },
  );
  return eventStreamResponse(body, options.headers);
}
