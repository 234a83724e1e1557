/**
 * The Anthropic Messages response shapes the gateway writes: the Message, its
 * usage, the stream events, and the mappings from the gateway's vocabulary
 * (finish reasons, OpenAI-style usage) to Anthropic's.
 */
import type { FinishReason, Usage } from '../../../protocol/chat-events.ts';
import type { AgentMetadata } from '../../../protocol/chat-response.ts';

export interface AnthropicUsageOut {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  [field: string]: unknown;
}

/** A content block as it goes out (server-tool blocks from a passthrough keep every field). */
export type AnthropicBlockOut = { type: string; [field: string]: unknown };

export interface AnthropicMessageOut {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicBlockOut[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: AnthropicUsageOut;
  [field: string]: unknown;
}

/** What `POST /v1/messages` answers without streaming: the Message plus the gateway's `agent` metadata. */
export type MessageResponse = AnthropicMessageOut & { agent: AgentMetadata };

/** One stream event: `type` is also its SSE `event:` name. */
export type AnthropicStreamEventOut = { type: string; [field: string]: unknown };

/** `msg_<random>`, as Anthropic names messages. */
export function messageId(generateId: () => string): string {
  return `msg_${generateId()}`;
}

/**
 * A gateway finish reason as Anthropic's stop_reason. A refusal (a chat
 * backend's `refusal` text, or content_filter) is Anthropic's `refusal`.
 */
export function anthropicStopReason(finishReason: FinishReason, refused: boolean): string {
  if (refused) return 'refusal';
  switch (finishReason) {
    case 'tool_calls':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    case 'stop':
      return 'end_turn';
  }
}

/**
 * OpenAI-style usage in Anthropic's terms: Anthropic's `input_tokens` leaves
 * out what was read from or written to the cache, OpenAI's `prompt_tokens`
 * includes both. Zeros when the backend counted nothing (Anthropic's fields are required).
 */
export function anthropicUsage(usage: Usage | undefined): AnthropicUsageOut {
  if (!usage) return { input_tokens: 0, output_tokens: 0 };
  const cacheRead = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheCreation = usage.prompt_tokens_details?.cache_creation_tokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cacheRead - cacheCreation),
    output_tokens: usage.completion_tokens,
    cache_creation_input_tokens: cacheCreation,
    cache_read_input_tokens: cacheRead,
  };
}
