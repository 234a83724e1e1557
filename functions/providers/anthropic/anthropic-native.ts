/**
 * Anthropic's Messages API as a native passthrough (protocol/native-passthrough.ts):
 * the client's own body goes out with only `model` (this candidate's) and
 * `stream: true` set, with the client's `anthropic-version` and
 * `anthropic-beta`; the answer is read by the same translator as a translated
 * call (so the agent layer sees the same events, commit point and errors), and
 * every frame rides along on the event it led to, for the surface to forward
 * as it came.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { NativeFrame, NativeRequest } from '../../../protocol/native-passthrough.ts';
import type { SseEvent } from '../../../protocol/sse.ts';
import type { TranslationState } from '../shared/stream-upstream-chat.ts';
import { ANTHROPIC_VERSION } from './anthropic-api.ts';

/** The client headers Anthropic's API defines, which a passthrough forwards. */
export const FORWARDED_ANTHROPIC_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

/** The body sent upstream: the client's, for this candidate's model, always streamed. */
export function nativeAnthropicBody(native: NativeRequest, model: string): Record<string, unknown> {
  return { ...native.body, model, stream: true };
}

/**
 * The version and beta headers for a passthrough: the client's version (else
 * ours), and the client's betas joined with any the operator configured.
 */
export function nativeAnthropicHeaders(native: NativeRequest, configured: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { 'anthropic-version': native.headers['anthropic-version'] ?? ANTHROPIC_VERSION };
  const configuredBeta = Object.entries(configured).find(([name]) => name.toLowerCase() === 'anthropic-beta')?.[1];
  const betas = [configuredBeta, native.headers['anthropic-beta']].filter((value): value is string => value !== undefined && value !== '');
  if (betas.length > 0) headers['anthropic-beta'] = [...new Set(betas.join(',').split(',').map((beta) => beta.trim()))].join(',');
  return headers;
}

type Translate = (
  events: AsyncIterable<SseEvent>,
  context: { provider: string; secrets: readonly string[]; state: TranslationState },
) => AsyncGenerator<ChatEvent, void, undefined>;

/** `translate`, with every frame it read since the previous event attached to the next one it yields. */
export function withNativeFrames(translate: Translate): Translate {
  return async function* (events, context) {
    const pending: NativeFrame[] = [];
    async function* recorded(): AsyncGenerator<SseEvent, void, undefined> {
      for await (const event of events) {
        pending.push({ event: event.event, data: event.data });
        yield event;
      }
    }
    for await (const event of translate(recorded(), context)) {
      yield { ...event, native: pending.splice(0) };
    }
  };
}
