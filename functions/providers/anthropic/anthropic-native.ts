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
import type { SseTranslator, TranslationContext } from '../shared/stream-upstream-chat.ts';
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

/** An event that only carries frames: no text, nothing for any other consumer to show. */
function framesOnly(frames: NativeFrame[]): ChatEvent {
  return { type: 'text-delta', text: '', native: frames };
}

/**
 * `translate`, with every frame it read attached to the first event it made
 * from that frame or a later one. Once the answer has begun, a frame that
 * makes no event of its own (a `ping` while a server tool runs, a
 * server-tool block, a signature) goes out at once on an empty text delta,
 * so the client sees it when Anthropic sent it and the idle deadline hears
 * Anthropic's pings. Before the first event nothing is sent alone: until
 * then the chain may still fall back.
 */
export function withNativeFrames(translate: (context: TranslationContext) => SseTranslator): (context: TranslationContext) => SseTranslator {
  return (context) => {
    const inner = translate(context);
    let pending: NativeFrame[] = [];
    let begun = false;
    const attach = (out: ChatEvent[], from: number): void => {
      const first = out[from];
      if (first !== undefined) {
        out[from] = { ...first, native: pending };
        begun = true;
      } else if (begun && pending.length > 0) {
        out.push(framesOnly(pending));
      } else {
        return; // kept for the first event
      }
      pending = [];
    };
    return {
      push(event, out) {
        pending.push({ event: event.event, data: event.data });
        const from = out.length;
        try {
          return inner.push(event, out);
        } finally {
          attach(out, from);
        }
      },
      end(out) {
        const from = out.length;
        try {
          inner.end(out);
        } finally {
          attach(out, from);
        }
      },
    };
  };
}
