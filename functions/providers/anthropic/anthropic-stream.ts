/**
 * Anthropic's Messages stream to normalized ChatEvents: message_start (input
 * usage), content blocks (text → text-delta, tool_use + input_json_delta →
 * tool-call-delta with an OpenAI-style tool index, thinking → reasoning-delta),
 * message_delta (stop reason and its details, cumulative usage), message_stop
 * (a refusal's explanation as refusal-delta, then finish). `ping` and unknown
 * events are ignored; `error` is thrown as a GatewayError.
 *
 * A synchronous translator (shared/stream-upstream-chat.ts feeds it every
 * event of a network read at once): no promise, timer or generator per event.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { SseEvent } from '../../../protocol/sse.ts';
import { safeParseJson } from '../../../protocol/validate.ts';
import { isNullishNumber, isNullishString, isRecord } from '../../../protocol/cheap-shape.ts';
import { classifyStreamError } from '../shared/classify-upstream-error.ts';
import type { SseTranslator, TranslationContext } from '../shared/stream-upstream-chat.ts';
import { parseUpstreamErrorBody } from '../shared/upstream-error-body.ts';
import { streamBroken } from '../shared/upstream-fetch.ts';
import { anthropicStreamEventSchema, normalizeAnthropicUsage, type AnthropicStreamEvent, type AnthropicUsage } from './anthropic-api.ts';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.ts';

export type AnthropicTranslateContext = TranslationContext;

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

/**
 * The common event, a `content_block_delta` of text (or thinking, or JSON),
 * checked without zod; false sends the event to the full schema.
 */
function isCommonDelta(value: Record<string, unknown>): value is AnthropicStreamEvent {
  if (value.type !== 'content_block_delta' || !isNullishNumber(value.index)) return false;
  if (value.message != null || value.content_block != null || value.usage != null) return false;
  const delta = value.delta;
  if (delta == null) return true;
  if (!isRecord(delta) || delta.stop_details != null) return false;
  return isNullishString(delta.type) && isNullishString(delta.text) && isNullishString(delta.partial_json) && isNullishString(delta.thinking) && isNullishString(delta.stop_reason);
}

/** A translator of one Anthropic event stream; throws GatewayErrors for `error` events and early ends. */
export function translateAnthropicStream(context: AnthropicTranslateContext): SseTranslator {
  const { provider, state } = context;
  const blocks = new Map<number, Block>();
  let nextToolIndex = 0;
  let stopReason: string | null | undefined;
  let refusalExplanation: string | undefined;
  const usage: AnthropicUsage = {};
  let out: ChatEvent[] = [];
  const emit = (event: ChatEvent): void => {
    state.sawContent = true;
    out.push(event);
  };

  /** One event; true once the message is complete. */
  function translate(event: AnthropicStreamEvent): boolean {
    const index = event.index ?? 0;
    switch (event.type) {
      case 'message_start':
        mergeUsage(usage, event.message?.usage);
        return false;
      case 'content_block_start': {
        const block = event.content_block;
        if (block?.type === 'text') {
          blocks.set(index, { kind: 'text' });
          if (block.text) emit({ type: 'text-delta', text: block.text });
        } else if (block?.type === 'thinking') {
          blocks.set(index, { kind: 'thinking' });
          if (block.thinking) emit({ type: 'reasoning-delta', text: block.thinking });
        } else if (block?.type === 'tool_use') {
          const toolIndex = nextToolIndex++;
          blocks.set(index, { kind: 'tool', toolIndex, sawArguments: false });
          const start: ChatEvent = { type: 'tool-call-delta', index: toolIndex, arguments: '' };
          if (block.id) start.id = block.id;
          if (block.name) start.name = block.name;
          emit(start);
        } else {
          blocks.set(index, { kind: 'other' }); // redacted_thinking, server tools: nothing for the client
        }
        return false;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        const block = blocks.get(index);
        if (delta?.type === 'text_delta' && delta.text) emit({ type: 'text-delta', text: delta.text });
        else if (delta?.type === 'thinking_delta' && delta.thinking) emit({ type: 'reasoning-delta', text: delta.thinking });
        else if (delta?.type === 'input_json_delta' && block?.kind === 'tool' && delta.partial_json) {
          block.sawArguments = true;
          emit({ type: 'tool-call-delta', index: block.toolIndex, arguments: delta.partial_json });
        }
        // signature_delta and citations carry nothing the OpenAI shape can hold.
        return false;
      }
      case 'content_block_stop': {
        const closing = closeTool(blocks.get(index));
        if (closing) emit(closing);
        return false;
      }
      case 'message_delta':
        if (event.delta?.stop_reason != null) stopReason = event.delta.stop_reason;
        if (event.delta?.stop_details?.explanation) refusalExplanation = event.delta.stop_details.explanation;
        mergeUsage(usage, event.usage);
        return false;
      case 'message_stop': {
        for (const block of blocks.values()) {
          const closing = closeTool(block); // a block Anthropic never stopped
          if (closing) emit(closing);
        }
        if (stopReason === 'refusal') emit({ type: 'refusal-delta', text: refusalExplanation ?? ANTHROPIC_REFUSAL_FALLBACK });
        const finish: ChatEvent = { type: 'finish', finishReason: mapAnthropicStopReason(stopReason) };
        const normalized = normalizeAnthropicUsage(usage);
        if (normalized) finish.usage = normalized;
        out.push(finish);
        return true;
      }
      default:
        return false; // ping, and events added later
    }
  }

  return {
    push(sse, into) {
      const json = safeParseJson(sse.data);
      if (!json.ok) throw streamBroken(provider, state.sawContent, 'sent a malformed event');
      const value = json.value;
      if (sse.event === 'error' || (isRecord(value) && value.type === 'error')) {
        throw classifyStreamError(provider, parseUpstreamErrorBody(sse.data), state.sawContent, context.secrets);
      }
      let event: AnthropicStreamEvent;
      if (isRecord(value) && isCommonDelta(value)) {
        event = value;
      } else {
        const parsed = anthropicStreamEventSchema.safeParse(value);
        if (!parsed.success) throw streamBroken(provider, state.sawContent, 'sent an event of an unexpected shape');
        event = parsed.data;
      }
      out = into;
      return translate(event);
    },
    end() {
      throw streamBroken(provider, state.sawContent, 'ended before message_stop');
    },
  };
}
