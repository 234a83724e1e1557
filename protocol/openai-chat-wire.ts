/**
 * The parts of the OpenAI chat completions wire format we read, as lenient zod
 * schemas (`.nullish()` everywhere: xAI, Groq, vLLM and mlx_lm.server leave out
 * or null what OpenAI sends, and all of them add fields over time). Read by the
 * Worker's OpenAI-compatible providers and the bridge's vLLM runner alike.
 */
import * as z from 'zod';
import type { FinishReason, Usage } from './chat-events.ts';

const count = z.number().nullish();

export const openaiUsageSchema = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: z.object({ cached_tokens: count }).nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: count }).nullish(),
});
export type OpenAIUsage = z.infer<typeof openaiUsageSchema>;

const toolCallDeltaSchema = z.object({
  index: z.number().nullish(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

export const openaiChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().nullish(),
        delta: z
          .object({
            content: z.string().nullish(),
            // xAI, DeepSeek-style and vLLM ≤ 0.10 reasoning; Groq, vLLM ≥ 0.11 and mlx_lm.server call it `reasoning`.
            reasoning_content: z.string().nullish(),
            reasoning: z.string().nullish(),
            refusal: z.string().nullish(),
            tool_calls: z.array(toolCallDeltaSchema).nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: openaiUsageSchema.nullish(),
  x_groq: z.object({ usage: openaiUsageSchema.nullish() }).nullish(),
  // An in-band error: OpenAI `{"error": {…}}`, xAI and mlx_lm.server `{"error": "<string>"}`.
  error: z.unknown().optional(),
});
export type OpenAIChunk = z.infer<typeof openaiChunkSchema>;

export const openaiModelListSchema = z.object({
  data: z.array(z.object({ id: z.string() })),
});

/**
 * What a provider's `completion_tokens` counts. `openai`: every generated token,
 * reasoning included (`completion_tokens_details.reasoning_tokens` is a part of
 * it). `excludes-reasoning`: the visible answer only, reasoning reported beside
 * it (xAI: prompt 291 + completion 26 + reasoning 196 = total 513).
 */
export type UsageMeaning = 'openai' | 'excludes-reasoning';

/** Provider usage in OpenAI's meaning (prompt + completion = total); missing totals are computed. */
export function normalizeOpenAIUsage(usage: OpenAIUsage, meaning: UsageMeaning = 'openai'): Usage {
  const prompt = usage.prompt_tokens ?? 0;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  const reported = usage.completion_tokens ?? 0;
  const completion = meaning === 'excludes-reasoning' ? reported + (reasoning ?? 0) : reported;
  const normalized: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: usage.total_tokens ?? prompt + completion };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (cached != null) normalized.prompt_tokens_details = { cached_tokens: cached };
  if (reasoning != null) normalized.completion_tokens_details = { reasoning_tokens: reasoning };
  return normalized;
}

/** Maps an upstream finish_reason; anything unknown (vLLM's `abort`, a stop string) is a normal stop. */
export function mapOpenAIFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}
