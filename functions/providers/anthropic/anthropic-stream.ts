/**
 * Anthropic's Messages stream to normalized ChatEvents: message_start (input
 * usage), content blocks (text → text-delta, tool_use + input_json_delta →
 * tool-call-delta with an OpenAI-style tool index, thinking → reasoning-delta),
 * message_delta (stop reason and its details, cumulative usage), message_stop
 * (a refusal's explanation as refusal-delta, then finish). `ping` and unknown
 * events are ignored; `error` is thrown as a GatewayError.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { SseEvent } from '../../../protocol/sse.ts';
import { safeParseJson } from '../../../protocol/validate.ts';
import { classifyStreamError } from '../shared/classify-upstream-error.ts';
import { parseUpstreamErrorBody } from '../shared/upstream-error-body.ts';
import { streamBroken } from '../shared/upstream-fetch.ts';
import { anthropicStreamEventSchema, normalizeAnthropicUsage, type AnthropicUsage } from './anthropic-api.ts';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.ts';

export interface AnthropicStreamState {
  /** A delta has been yielded: from here on a failure is visible to the client. */
  sawContent: boolean;
}

export interface AnthropicTranslateContext {
  provider: string;
  secrets: readonly string[];
  state: AnthropicStreamState;
}

type ToolBlock = { kind: 'tool'; toolIndex: number; sawArguments: boolean };
type Block = { kind: 'text' } | { kind: 'thinking' } | ToolBlock | { kind: 'other' };

/** Said when Anthropic refuses without `stop_details.explanation` (older models). */
export const ANTHROPIC_REFUSAL_FALLBACK = 'The model declined to answer (Anthropic stop_reason "refusal").';

/**
 * A tool called without arguments streams `input: {}` and at most an empty
 * `input_json_delta`: its arguments are then `{}`, as OpenAI sends them, since
 * `JSON.parse('')` throws in every client.
 */
function closeTool(block: Block | undefined): ChatEvent | undefined {
  if (block?.kind !== 'tool' || block.sawArguments) return undefined;
  block.sawArguments = true;
  return { type: 'tool-call-delta', index: block.toolIndex, arguments: '{}' };
}

/** Later usage figures win: message_delta's are cumulative. */
function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | null | undefined): void {
  if (!from) return;
  if (from.input_tokens != null) into.input_tokens = from.input_tokens;
  if (from.output_tokens != null) into.output_tokens = from.output_tokens;
  if (from.cache_read_input_tokens != null) into.cache_read_input_tokens = from.cache_read_input_tokens;
  if (from.cache_creation_input_tokens != null) into.cache_creation_input_tokens = from.cache_creation_input_tokens;
}

/** Translates an Anthropic event stream; throws GatewayErrors for `error` events and early ends. */
export async function* translateAnthropicStream(events: AsyncIterable<SseEvent>, context: AnthropicTranslateContext): AsyncGenerator<ChatEvent, void, undefined> {
  const { provider, state } = context;
  const blocks = new Map<number, Block>();
  let nextToolIndex = 0;
  let stopReason: string | null | undefined;
  let refusalExplanation: string | undefined;
  const usage: AnthropicUsage = {};
  const emit = (event: ChatEvent): ChatEvent => {
    state.sawContent = true;
    return event;
  };

  for await (const sse of events) {
    const json = safeParseJson(sse.data);
    if (!json.ok) throw streamBroken(provider, state.sawContent, 'sent a malformed event');
    if (sse.event === 'error' || (typeof json.value === 'object' && json.value !== null && 'type' in json.value && json.value.type === 'error')) {
      throw classifyStreamError(provider, parseUpstreamErrorBody(sse.data), state.sawContent, context.secrets);
    }
    const parsed = anthropicStreamEventSchema.safeParse(json.value);
    if (!parsed.success) throw streamBroken(provider, state.sawContent, 'sent an event of an unexpected shape');
    const event = parsed.data;
    const index = event.index ?? 0;

    switch (event.type) {
      case 'message_start':
        mergeUsage(usage, event.message?.usage);
        break;
      case 'content_block_start': {
        const block = event.content_block;
        if (block?.type === 'text') {
          blocks.set(index, { kind: 'text' });
          if (block.text) yield emit({ type: 'text-delta', text: block.text });
        } else if (block?.type === 'thinking') {
          blocks.set(index, { kind: 'thinking' });
          if (block.thinking) yield emit({ type: 'reasoning-delta', text: block.thinking });
        } else if (block?.type === 'tool_use') {
          const toolIndex = nextToolIndex++;
          blocks.set(index, { kind: 'tool', toolIndex, sawArguments: false });
          const start: ChatEvent = { type: 'tool-call-delta', index: toolIndex, arguments: '' };
          if (block.id) start.id = block.id;
          if (block.name) start.name = block.name;
          yield emit(start);
        } else {
          blocks.set(index, { kind: 'other' }); // redacted_thinking, server tools: nothing for the client
        }
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        const block = blocks.get(index);
        if (delta?.type === 'text_delta' && delta.text) yield emit({ type: 'text-delta', text: delta.text });
        else if (delta?.type === 'thinking_delta' && delta.thinking) yield emit({ type: 'reasoning-delta', text: delta.thinking });
        else if (delta?.type === 'input_json_delta' && block?.kind === 'tool' && delta.partial_json) {
          block.sawArguments = true;
          yield emit({ type: 'tool-call-delta', index: block.toolIndex, arguments: delta.partial_json });
        }
        // signature_delta and citations carry nothing the OpenAI shape can hold.
        break;
      }
      case 'content_block_stop': {
        const closing = closeTool(blocks.get(index));
        if (closing) yield emit(closing);
        break;
      }
      case 'message_delta':
        if (event.delta?.stop_reason != null) stopReason = event.delta.stop_reason;
        if (event.delta?.stop_details?.explanation) refusalExplanation = event.delta.stop_details.explanation;
        mergeUsage(usage, event.usage);
        break;
      case 'message_stop': {
        for (const block of blocks.values()) {
          const closing = closeTool(block); // a block Anthropic never stopped
          if (closing) yield emit(closing);
        }
        if (stopReason === 'refusal') yield emit({ type: 'refusal-delta', text: refusalExplanation ?? ANTHROPIC_REFUSAL_FALLBACK });
        const finish: ChatEvent = { type: 'finish', finishReason: mapAnthropicStopReason(stopReason) };
        const normalized = normalizeAnthropicUsage(usage);
        if (normalized) finish.usage = normalized;
        yield finish;
        return;
      }
      default:
        break; // ping, and events added later
    }
  }
  throw streamBroken(provider, state.sawContent, 'ended before message_stop');
}
