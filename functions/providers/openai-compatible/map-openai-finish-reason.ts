/** OpenAI-compatible `finish_reason` values in our vocabulary. */
import type { FinishReason } from '../../../protocol/chat-events.ts';

/** Maps an upstream finish_reason; anything unknown is a normal stop. */
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
