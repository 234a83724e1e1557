/**
 * OpenAI-compatible SSE chunks (OpenAI, xAI, Groq) to normalized ChatEvents:
 * text, reasoning, refusal and tool-call deltas, then one `finish` carrying the
 * finish_reason and the usage (OpenAI's usage chunk, or Groq's `x_groq.usage`),
 * in OpenAI's meaning whatever the provider's own (see the profiles).
 */
import type { ChatEvent, FinishReason, Usage } from '../../../protocol/chat-events.ts';
import type { SseEvent } from '../../../protocol/sse.ts';
import { safeParseJson } from '../../../protocol/validate.ts';
import { classifyStreamError } from '../shared/classify-upstream-error.ts';
import { parseUpstreamErrorBody } from '../shared/upstream-error-body.ts';
import { streamBroken } from '../shared/upstream-fetch.ts';
import { normalizeOpenAIUsage, openaiChunkSchema, type OpenAIChunk, type UsageMeaning } from './openai-compatible-api.ts';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.ts';

export interface StreamState {
  /** A delta has been yielded: from here on a failure is visible to the client. */
  sawContent: boolean;
}

export interface TranslateContext {
  provider: string;
  secrets: readonly string[];
  state: StreamState;
  /** How the provider counts completion tokens; default OpenAI's own. */
  usageMeaning?: UsageMeaning;
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

function* deltaEvents(chunk: OpenAIChunk, announced: Map<number, AnnouncedToolCall>): Generator<ChatEvent> {
  for (const choice of chunk.choices ?? []) {
    if ((choice.index ?? 0) !== 0) continue; // we ask for one choice
    const delta = choice.delta;
    if (!delta) continue;
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (reasoning) yield { type: 'reasoning-delta', text: reasoning };
    if (delta.content) yield { type: 'text-delta', text: delta.content };
    // A structured-output refusal stays a refusal: as content it would be unparseable JSON.
    if (delta.refusal) yield { type: 'refusal-delta', text: delta.refusal };
    for (const [position, call] of (delta.tool_calls ?? []).entries()) {
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
      yield event;
    }
  }
}

/** Translates an OpenAI-compatible event stream; throws GatewayErrors for in-band errors and early ends. */
export async function* translateOpenAICompatibleStream(events: AsyncIterable<SseEvent>, context: TranslateContext): AsyncGenerator<ChatEvent, void, undefined> {
  const { provider, state } = context;
  let finishReason: FinishReason | undefined;
  let usage: Usage | undefined;
  let done = false;
  const announced = new Map<number, AnnouncedToolCall>();
  const meaning = context.usageMeaning ?? 'openai';

  for await (const event of events) {
    if (event.data === '[DONE]') {
      done = true;
      break;
    }
    const json = safeParseJson(event.data);
    if (!json.ok) throw streamBroken(provider, state.sawContent, 'sent a malformed chunk');
    const parsed = openaiChunkSchema.safeParse(json.value);
    if (!parsed.success) throw streamBroken(provider, state.sawContent, 'sent a chunk of an unexpected shape');
    const chunk = parsed.data;
    if (event.event === 'error' || (chunk.error !== undefined && chunk.error !== null)) {
      throw classifyStreamError(provider, parseUpstreamErrorBody(event.data), state.sawContent, context.secrets);
    }
    if (chunk.usage) usage = normalizeOpenAIUsage(chunk.usage, meaning);
    else if (chunk.x_groq?.usage && !usage) usage = normalizeOpenAIUsage(chunk.x_groq.usage, meaning);
    for (const delta of deltaEvents(chunk, announced)) {
      state.sawContent = true;
      yield delta;
    }
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) === 0 && choice.finish_reason) finishReason = mapOpenAIFinishReason(choice.finish_reason);
    }
  }

  // Without [DONE] a finish_reason still marks a complete answer; without either the stream was cut.
  if (!done && finishReason === undefined) throw streamBroken(provider, state.sawContent, 'ended before the answer was complete');
  const finish: ChatEvent = { type: 'finish', finishReason: finishReason ?? 'stop' };
  if (usage) finish.usage = usage;
  yield finish;
}
