/**
 * The one translator of an OpenAI-compatible chat completions stream into
 * ChatEvents: text, reasoning, refusal and tool-call deltas, then one `finish`
 * with the finish_reason and the usage (OpenAI's usage chunk, or Groq's
 * `x_groq.usage`) in OpenAI's meaning. Pure and synchronous (no promise, timer
 * or generator per chunk): the Worker's OpenAI, xAI and Groq providers and the
 * bridge's vLLM runner both run it, each plugging in its own errors (the
 * Worker's upstream classifier, the bridge's tunnel codes).
 */
import type { ChatEvent, FinishReason, Usage } from './chat-events.ts';
import { isNullishNumber, isNullishString, isRecord } from './cheap-shape.ts';
import { mapOpenAIFinishReason, normalizeOpenAIUsage, openaiChunkSchema, type OpenAIChunk, type UsageMeaning } from './openai-chat-wire.ts';
import type { SseEvent } from './sse.ts';
import { safeParseJson } from './validate.ts';

/** The errors a side throws, by what went wrong. */
export interface OpenAIStreamErrors {
  /** A chunk that is not JSON, or not of the chunk's shape. */
  malformed(detail: string): Error;
  /** An in-band error (an `error` event, or a chunk with `error`); `data` is the event's raw data. */
  inBand(data: string): Error;
  /** The body ended with neither `[DONE]` nor a finish_reason: the answer was cut. */
  cutShort(): Error;
}

export interface OpenAIStreamOptions {
  errors: OpenAIStreamErrors;
  /** How the server counts completion tokens; default OpenAI's own. */
  usageMeaning?: UsageMeaning;
}

/** One SSE event at a time, synchronously. */
export interface ChatStreamTranslator {
  /** Appends the ChatEvents of `event` to `out`; true once the answer is complete (the rest of the body is not read). */
  push(event: SseEvent, out: ChatEvent[]): boolean;
  /** The body ended before `[DONE]`: appends the finish, or throws `cutShort`. */
  end(out: ChatEvent[]): void;
}

/**
 * What each tool index has announced so far. OpenAI sends a call's id and name
 * once, on its first delta; a provider that repeats them later must not make a
 * client (or our JSON aggregator) see a second call or a doubled name, and one
 * that sends the name only after the id must not lose it.
 */
interface AnnouncedToolCall {
  id: boolean;
  name: boolean;
}

/**
 * The common chunk, one text (or reasoning, or refusal) delta and maybe a
 * finish_reason, checked without zod; false sends the chunk to the full schema
 * (usage, tool calls, errors and anything unexpected).
 */
function isCommonChunk(value: unknown): value is OpenAIChunk {
  if (!isRecord(value) || value.usage != null || value.x_groq != null || value.error !== undefined) return false;
  const choices = value.choices;
  if (choices == null) return true;
  if (!Array.isArray(choices)) return false;
  for (const choice of choices) {
    if (!isRecord(choice) || !isNullishNumber(choice.index) || !isNullishString(choice.finish_reason)) return false;
    const delta = choice.delta;
    if (delta == null) continue;
    if (!isRecord(delta) || delta.tool_calls != null) return false;
    if (!isNullishString(delta.content) || !isNullishString(delta.reasoning_content) || !isNullishString(delta.reasoning) || !isNullishString(delta.refusal)) return false;
  }
  return true;
}

function pushDeltas(chunk: OpenAIChunk, announced: Map<number, AnnouncedToolCall>, out: ChatEvent[]): void {
  for (const choice of chunk.choices ?? []) {
    if ((choice.index ?? 0) !== 0) continue; // we ask for one choice
    const delta = choice.delta;
    if (!delta) continue;
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (reasoning) out.push({ type: 'reasoning-delta', text: reasoning });
    if (delta.content) out.push({ type: 'text-delta', text: delta.content });
    // A structured-output refusal stays a refusal: as content it would be unparseable JSON.
    if (delta.refusal) out.push({ type: 'refusal-delta', text: delta.refusal });
    const calls = delta.tool_calls ?? [];
    for (let position = 0; position < calls.length; position++) {
      const call = calls[position]!;
      const index = call.index ?? position;
      const event: ChatEvent = { type: 'tool-call-delta', index, arguments: call.function?.arguments ?? '' };
      const seen = announced.get(index) ?? { id: false, name: false };
      const isNew = !announced.has(index);
      announced.set(index, seen);
      if (call.id && !seen.id) {
        event.id = call.id;
        seen.id = true;
      }
      if (call.function?.name && !seen.name) {
        event.name = call.function.name;
        seen.name = true;
      }
      // Only a repeated id or name: nothing new.
      if (!isNew && event.arguments === '' && event.id === undefined && event.name === undefined) continue;
      out.push(event);
    }
  }
}

/** A translator of one OpenAI-compatible stream. */
export function openAIChatStreamTranslator(options: OpenAIStreamOptions): ChatStreamTranslator {
  const { errors } = options;
  let finishReason: FinishReason | undefined;
  let usage: Usage | undefined;
  const announced = new Map<number, AnnouncedToolCall>();
  const meaning = options.usageMeaning ?? 'openai';

  const finish = (out: ChatEvent[]): void => {
    const event: ChatEvent = { type: 'finish', finishReason: finishReason ?? 'stop' };
    if (usage) event.usage = usage;
    out.push(event);
  };

  return {
    push(event, out) {
      if (event.data === '[DONE]') {
        finish(out);
        return true;
      }
      const json = safeParseJson(event.data);
      if (!json.ok) throw errors.malformed('sent a malformed chunk');
      let chunk: OpenAIChunk;
      if (event.event !== 'error' && isCommonChunk(json.value)) {
        chunk = json.value;
      } else {
        const parsed = openaiChunkSchema.safeParse(json.value);
        if (!parsed.success) throw errors.malformed('sent a chunk of an unexpected shape');
        chunk = parsed.data;
      }
      if (event.event === 'error' || (chunk.error !== undefined && chunk.error !== null)) throw errors.inBand(event.data);
      if (chunk.usage) usage = normalizeOpenAIUsage(chunk.usage, meaning);
      else if (chunk.x_groq?.usage && !usage) usage = normalizeOpenAIUsage(chunk.x_groq.usage, meaning);
      pushDeltas(chunk, announced, out);
      for (const choice of chunk.choices ?? []) {
        if ((choice.index ?? 0) === 0 && choice.finish_reason) finishReason = mapOpenAIFinishReason(choice.finish_reason);
      }
      return false;
    },
    end(out) {
      // Without [DONE] a finish_reason still marks a complete answer; without either the stream was cut.
      if (finishReason === undefined) throw errors.cutShort();
      finish(out);
    },
  };
}
