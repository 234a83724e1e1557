/** Anthropic `stop_reason` values in OpenAI's finish_reason vocabulary. */
import type { FinishReason } from '../../../protocol/chat-events.ts';

/** end_turn/stop_sequence/pause_turn→stop, tool_use→tool_calls, max_tokens/context window→length, refusal→content_filter. */
export function mapAnthropicStopReason(stopReason: string | null | undefined): FinishReason {
  switch (stopReason) {
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content_filter';
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
    default:
      return 'stop';
  }
}
