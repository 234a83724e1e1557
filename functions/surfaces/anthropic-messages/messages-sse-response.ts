/**
 * A committed agent result as Anthropic's event stream. A passthrough's
 * frames go out as Anthropic sent them; a translation's events are encoded
 * (chat-events-to-anthropic.ts), `message_start` and a `ping` first. While
 * the model is silent, a `ping` event every `keepAliveMs` keeps proxies from
 * timing out (Anthropic's clients expect pings, not comments). A failure
 * after the commit is an `error` event, and the stream ends with no
 * `message_stop`, so no client mistakes it for a complete answer.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { toGatewayError, type GatewayError } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { encodeSseEvent } from '../../../protocol/sse.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import { startTimer, type Timer } from '../../agents/deadlines.ts';
import type { AnthropicErrorBody } from './anthropic-error.ts';
import { createAnthropicEventEncoder, type AnthropicEventEncoder, type MessageIdentity } from './chat-events-to-anthropic.ts';

export const MESSAGES_KEEP_ALIVE_MS = 15_000;
const PING = encodeSseEvent('ping', { type: 'ping' });
const KEEP_ALIVE = Symbol('keep-alive');

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

/** A native frame as SSE text, multi-line data kept multi-line. */
function frameText(frame: { event: string; data: string }): string {
  const data = frame.data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n');
  return `event: ${frame.event}\n${data}\n\n`;
}

/** The streaming response for `result`. */
export function messagesSseResponse(result: AgentResult, options: MessagesSseOptions): Response {
  const encoder = new TextEncoder();
  const iterator = result.events[Symbol.asyncIterator]();
  const keepAliveMs = options.keepAliveMs ?? MESSAGES_KEEP_ALIVE_MS;
  let translation: AnthropicEventEncoder | undefined;
  let pending: Promise<IteratorResult<ChatEvent>> | undefined;
  let ended = false;
  const end = (outcome: string): void => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };

  function textOf(event: ChatEvent): string {
    if (event.native) return event.native.map(frameText).join('');
    let text = '';
    if (!translation) {
      translation = createAnthropicEventEncoder(options.identity);
      text += translation.start().map((start) => encodeSseEvent(start.type, start)).join('') + PING;
    }
    return text + translation.encode(event).map((encoded) => encodeSseEvent(encoded.type, encoded)).join('');
  }

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Until something is sent: a pull that enqueues nothing is not called again (an event
      // with no text of its own, like a second progress report, would hang the stream).
      for (;;) {
        pending ??= iterator.next();
        let timer: Timer | undefined;
        const tick = new Promise<typeof KEEP_ALIVE>((resolve) => {
          timer = startTimer(keepAliveMs, options.deps, () => resolve(KEEP_ALIVE));
        });
        let next: IteratorResult<ChatEvent> | typeof KEEP_ALIVE;
        try {
          next = await Promise.race([pending, tick]);
        } catch (error) {
          pending = undefined;
          const failure = toGatewayError(error);
          controller.enqueue(encoder.encode(encodeSseEvent('error', options.errorBody(failure))));
          controller.close();
          end(failure.code ?? failure.type);
          return;
        } finally {
          timer?.cancel();
        }
        if (next === KEEP_ALIVE) {
          controller.enqueue(encoder.encode(PING));
          return;
        }
        pending = undefined;
        if (next.done) {
          controller.close();
          end('done');
          return;
        }
        const text = textOf(next.value);
        if (text !== '') {
          controller.enqueue(encoder.encode(text));
          return;
        }
      }
    },
    async cancel() {
      end('cancelled');
      await iterator.return?.();
    },
  });

  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...options.headers },
  });
}
