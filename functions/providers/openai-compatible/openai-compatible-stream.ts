/**
 * OpenAI, xAI and Groq streams to ChatEvents: the shared translator
 * (protocol/openai-chat-stream.ts) with the Worker's errors plugged in (a
 * broken stream and the upstream error classifier, which know whether content
 * was already sent), in each provider's usage meaning (see the profiles).
 */
import type { UsageMeaning } from '../../../protocol/openai-chat-wire.ts';
import { openAIChatStreamTranslator } from '../../../protocol/openai-chat-stream.ts';
import { classifyStreamError } from '../shared/classify-upstream-error.ts';
import type { SseTranslator, TranslationContext } from '../shared/stream-upstream-chat.ts';
import { parseUpstreamErrorBody } from '../shared/upstream-error-body.ts';
import { streamBroken } from '../shared/upstream-fetch.ts';

export interface TranslateContext extends TranslationContext {
  /** How the provider counts completion tokens; default OpenAI's own. */
  usageMeaning?: UsageMeaning;
}

/** A translator of one OpenAI-compatible event stream; throws GatewayErrors for in-band errors and early ends. */
export function translateOpenAICompatibleStream(context: TranslateContext): SseTranslator {
  const { provider, state } = context;
  const translator = openAIChatStreamTranslator({
    usageMeaning: context.usageMeaning,
    errors: {
      malformed: (detail) => streamBroken(provider, state.sawContent, detail),
      inBand: (data) => classifyStreamError(provider, parseUpstreamErrorBody(data), state.sawContent, context.secrets),
      cutShort: () => streamBroken(provider, state.sawContent, 'ended before the answer was complete'),
    },
  });
  return {
    push(event, out) {
      const before = out.length;
      const complete = translator.push(event, out);
      // A delta has been handed on: from here a failure is visible to the client.
      if (out.length > before && out.at(-1)?.type !== 'finish') state.sawContent = true;
      return complete;
    },
    end: (out) => translator.end(out),
  };
}
