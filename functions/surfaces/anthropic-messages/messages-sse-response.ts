/**
 * A committed agent result as Anthropic's event stream. A passthrough's
 * frames go out as Anthropic sent them, what arrived together (one upstream
 * read, protocol/event-batches.ts) in one write; a translation's events are encoded
 * (chat-events-to-anthropic.ts), `message_start` and a `ping` first. While
 * the model is silent, a `ping` event every `keepAliveMs` keeps proxies from
 * timing out (Anthropic's clients expect pings, not comments). A failure
 * after the commit is an `error` event, and the stream ends with no
 * `message_stop`, so no client mistakes it for a complete answer.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { GatewayError } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { encodeSseEvent, encodeSseFrame } from '../../../protocol/sse.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import { eventStreamBody, eventStreamResponse } from '../../http/event-stream-body.ts';
import { KEEP_ALIVE_MS } from '../../http/sse-response.ts';
import type { AnthropicErrorBody } from './anthropic-error.ts';
import { createAnthropicEventEncoder, type AnthropicEventEncoder, type MessageIdentity } from './chat-events-to-anthropic.ts';

const PING = encodeSseEvent('ping', { type: 'ping' });

export interface MessagesSseOptions {
  identity: MessageIdentity;
  headers: Record<string, string>;
  deps: RuntimeDeps;
  /** The in-band error body after the commit, scrubbed. */
  errorBody: (error: GatewayError) => AnthropicErrorBody;
  keepAliveMs?: number;
  /** Told how the stream ended: `done`, an error code, or `cancelled`. */
  onEnd?: (outcome: string) => void;
}

/** The streaming response for `result`. */
export function messagesSseResponse(result: AgentResult, options: MessagesSseOptions): Response {
  let translation: AnthropicEventEncoder | undefined;
  const encode = (event: ChatEvent): string => {
    if (event.native) return event.native.map(encodeSseFrame).join('');
    let text = '';
    if (!translation) {
      translation = createAnthropicEventEncoder(options.identity);
      text += translation.start().map((start) => encodeSseEvent(start.type, start)).join('') + PING;
    }
    return text + translation.encode(event).map((encoded) => encodeSseEvent(encoded.type, encoded)).join('');
  };
  const body = eventStreamBody(
    result.events,
    // No terminator of its own: the finish's message_stop (or a passthrough's) is the end.
    { start: '', encode, done: '', error: (failure) => encodeSseEvent('error', options.errorBody(failure)), keepAlive: PING },
    { deps: options.deps, keepAliveMs: options.keepAliveMs ?? KEEP_ALIVE_MS, onEnd: options.onEnd },
  );
  return eventStreamResponse(body, options.headers);
}
