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

/** An event that only carries frames: no text, nothing for any other consumer to show. */
function framesOnly(frames: NativeFrame[]): ChatEvent {
  return { type: 'text-delta', text: '', native: frames };
}

/**
 * `translate`, with every frame it read attached to the next event it yields.
 * Once the answer has begun, a frame that yields no event of its own (a
 * `ping` while a server tool runs, a server-tool block, a signature) goes
 * out at once on an empty text delta, so the client sees it when Anthropic
 * sent it and the idle deadline hears Anthropic's pings. Before the first
 * event nothing is sent alone: until then the chain may still fall back.
 */
export function withNativeFrames(translate: Translate): Translate {
  return async function* (events, context) {
    const pending: NativeFrame[] = [];
    const source = events[Symbol.asyncIterator]();
    /** Resolved when the translator asks for its next frame. */
    let asked: () => void = () => undefined;
    let askedAgain = new Promise<void>((resolve) => (asked = resolve));
    async function* recorded(): AsyncGenerator<SseEvent, void, undefined> {
      try {
        for (;;) {
          asked();
          const next = await source.next();
          if (next.done) return;
          pending.push({ event: next.value.event, data: next.value.data });
          yield next.value;
        }
      } finally {
        await source.return?.();
      }
    }
    const translated = translate(recorded(), context);
    let begun = false;
    try {
      for (;;) {
        const next = translated.next();
        // Observed even when the client leaves while a frames-only event is out.
        next.catch(() => undefined);
        for (;;) {
          const settled = await Promise.race([next, askedAgain.then(() => undefined)]);
          if (settled !== undefined) {
            if (settled.done) return;
            begun = true;
            yield { ...settled.value, native: pending.splice(0) };
            break;
          }
          // The translator took the frames read so far and wants more: they yielded nothing.
          askedAgain = new Promise<void>((resolve) => (asked = resolve));
          if (begun && pending.length > 0) yield framesOnly(pending.splice(0));
        }
      }
    } finally {
      await translated.return(undefined);
    }
  };
}
