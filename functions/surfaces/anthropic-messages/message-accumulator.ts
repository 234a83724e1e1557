/**
 * Anthropic stream events folded into the Message they describe, the way
 * Anthropic's SDKs accumulate a stream: blocks as `content_block_start` gave
 * them (every field kept, so server-tool blocks and citations survive), text,
 * thinking and signatures appended, tool input parsed from its JSON pieces,
 * stop reason and usage from `message_delta`. One fold for both paths: the
 * frames of a native passthrough and the events the translation writes.
 */
import * as z from 'zod';
import { safeParseJson } from '../../../protocol/validate.ts';
import type { AnthropicBlockOut, AnthropicMessageOut, AnthropicStreamEventOut, AnthropicUsageOut } from './anthropic-message.ts';

const blockSchema = z.looseObject({ type: z.string() });
const eventSchema = z.looseObject({
  type: z.string(),
  index: z.number().nullish(),
  message: z.looseObject({ id: z.string().nullish(), model: z.string().nullish(), usage: z.record(z.string(), z.unknown()).nullish() }).nullish(),
  content_block: blockSchema.nullish(),
  delta: z
    .looseObject({
      type: z.string().nullish(),
      text: z.string().nullish(),
      thinking: z.string().nullish(),
      signature: z.string().nullish(),
      partial_json: z.string().nullish(),
      citation: z.unknown().optional(),
      stop_reason: z.string().nullish(),
      stop_sequence: z.string().nullish(),
    })
    .nullish(),
  usage: z.record(z.string(), z.unknown()).nullish(),
});

export interface MessageAccumulator {
  /** Folds in one event (an object, or a native frame's parsed `data`); unknown events are ignored. */
  add(event: AnthropicStreamEventOut | unknown): void;
  /** The message so far. */
  message(): AnthropicMessageOut;
}

/** Later usage figures win, field by field (message_delta's are cumulative, and may omit some). */
function mergeUsage(into: AnthropicUsageOut, from: Record<string, unknown> | null | undefined): void {
  if (!from) return;
  for (const [field, value] of Object.entries(from)) if (value !== null && value !== undefined) into[field] = value;
}

/** A fold starting from `fallback` identity (used until `message_start` says otherwise). */
export function createMessageAccumulator(fallback: { id: string; model: string }): MessageAccumulator {
  const message: AnthropicMessageOut = {
    id: fallback.id,
    type: 'message',
    role: 'assistant',
    model: fallback.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0 },
  };
  /** Block index → the JSON text of its input so far. */
  const inputs = new Map<number, string>();

  function finishInput(index: number): void {
    const block = message.content[index];
    const json = inputs.get(index);
    inputs.delete(index);
    if (!block || json === undefined || json === '') return;
    const parsed = safeParseJson(json);
    if (parsed.ok) block.input = parsed.value;
  }

  return {
    add(value) {
      const parsed = eventSchema.safeParse(value);
      if (!parsed.success) return;
      const event = parsed.data;
      const index = event.index ?? 0;
      const block: AnthropicBlockOut | undefined = message.content[index];
      switch (event.type) {
        case 'message_start': {
          const start = event.message;
          if (start?.id) message.id = start.id;
          if (start?.model) message.model = start.model;
          mergeUsage(message.usage, start?.usage);
          break;
        }
        case 'content_block_start':
          if (event.content_block) message.content[index] = { ...event.content_block };
          break;
        case 'content_block_delta': {
          const delta = event.delta;
          if (!block || !delta) break;
          if (delta.type === 'text_delta') block.text = `${typeof block.text === 'string' ? block.text : ''}${delta.text ?? ''}`;
          else if (delta.type === 'thinking_delta') block.thinking = `${typeof block.thinking === 'string' ? block.thinking : ''}${delta.thinking ?? ''}`;
          else if (delta.type === 'signature_delta') block.signature = delta.signature ?? '';
          else if (delta.type === 'input_json_delta') inputs.set(index, (inputs.get(index) ?? '') + (delta.partial_json ?? ''));
          else if (delta.type === 'citations_delta') block.citations = [...(Array.isArray(block.citations) ? block.citations : []), delta.citation];
          break;
        }
        case 'content_block_stop':
          finishInput(index);
          break;
        case 'message_delta':
          if (event.delta?.stop_reason !== undefined) message.stop_reason = event.delta.stop_reason ?? null;
          if (event.delta?.stop_sequence !== undefined) message.stop_sequence = event.delta.stop_sequence ?? null;
          mergeUsage(message.usage, event.usage);
          break;
        default:
          break; // ping, message_stop, events added later
      }
    },
    message() {
      for (const index of [...inputs.keys()]) finishInput(index);
      return { ...message, content: message.content.filter((block) => block !== undefined) };
    },
  };
}
