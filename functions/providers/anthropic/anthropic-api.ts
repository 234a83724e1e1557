/**
 * The parts of Anthropic's Messages API we read, as lenient zod schemas, and the
 * request shapes we write (types only).
 */
import * as z from 'zod';
import type { Usage } from '../../../protocol/chat-events.ts';

export const ANTHROPIC_VERSION = '2023-06-01';

// ---- What we send ----

export type AnthropicImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };

export type AnthropicContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: AnthropicImageSource }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string };

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicContentBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

export type AnthropicToolChoice = ({ type: 'auto' } | { type: 'any' } | { type: 'none' } | { type: 'tool'; name: string }) & {
  disable_parallel_tool_use?: boolean;
};

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id: string };
  stream: true;
}

// ---- What we read ----

const count = z.number().nullish();

export const anthropicUsageSchema = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
});
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

export const anthropicStreamEventSchema = z.object({
  type: z.string(),
  index: z.number().nullish(),
  message: z.object({ usage: anthropicUsageSchema.nullish() }).nullish(),
  content_block: z
    .object({ type: z.string(), id: z.string().nullish(), name: z.string().nullish(), text: z.string().nullish(), thinking: z.string().nullish() })
    .nullish(),
  delta: z
    .object({
      type: z.string().nullish(),
      text: z.string().nullish(),
      partial_json: z.string().nullish(),
      thinking: z.string().nullish(),
      stop_reason: z.string().nullish(),
      // With stop_reason `refusal`: why (docs: "stop_details arrives on the message_delta event").
      stop_details: z.object({ type: z.string().nullish(), explanation: z.string().nullish() }).nullish(),
    })
    .nullish(),
  usage: anthropicUsageSchema.nullish(),
});
export type AnthropicStreamEvent = z.infer<typeof anthropicStreamEventSchema>;

export const anthropicModelListSchema = z.object({
  data: z.array(z.object({ id: z.string() })),
  has_more: z.boolean().nullish(),
  last_id: z.string().nullish(),
});

/**
 * Anthropic usage in OpenAI's terms. Anthropic's `input_tokens` leaves out the
 * cached part, OpenAI's `prompt_tokens` includes it: add cache reads and writes back.
 * Undefined when Anthropic reported no counts at all: no invented zeros.
 */
export function normalizeAnthropicUsage(usage: AnthropicUsage): Usage | undefined {
  if (usage.input_tokens == null && usage.output_tokens == null) return undefined;
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheCreation = usage.cache_creation_input_tokens ?? 0;
  const prompt = (usage.input_tokens ?? 0) + cacheRead + cacheCreation;
  const completion = usage.output_tokens ?? 0;
  const normalized: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (usage.cache_read_input_tokens != null || usage.cache_creation_input_tokens != null) {
    normalized.prompt_tokens_details = { cached_tokens: cacheRead, cache_creation_tokens: cacheCreation };
  }
  return normalized;
}
