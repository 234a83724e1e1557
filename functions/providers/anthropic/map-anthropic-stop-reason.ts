/** Anthropic `stop_reason` values in OpenAI's finish_reason vocabulary. */
import type { FinishReason } from '../../../protocol/chat-events.ts';

/**
 * end_turn/stop_sequence/pause_turn→stop, tool_use→tool_calls, max_tokens/context window→length,
 * refusal→stop. A refusal ends as OpenAI ends its own: `stop`, with the explanation in
 * `message.refusal` (the stream emits it as a refusal-delta). `content_filter` would make the openai
 * SDK's `chat.completions.parse()` throw instead of returning `parsed: null` and the refusal.
 */
export function mapAnthropicStopReason(stopReason: string | null | undefined): FinishReason {
  switch (stopReason) {
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
    case 'refusal':
    default:
      return 'stop';
  }
}
