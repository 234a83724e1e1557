/**
 * The normalized stream every backend produces: the four cloud providers and the
 * bridge tunnel alike. One SSE encoder and one JSON aggregator turn it into the
 * OpenAI wire shapes, so a client cannot tell backends apart except by metadata.
 */
import type { NativeFrame } from './native-passthrough.ts';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_creation_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** Backend-side figures for one generation (local runners fill these in). */
export interface GenerationStats {
  ttft_ms?: number;
  queue_ms?: number;
  load_ms?: number;
  prompt_tps?: number;
  generation_tps?: number;
  peak_memory_bytes?: number;
}

/** The normalized events, each possibly carrying the native frames it came from (see below). */
export type ChatEvent = ChatEventBody & {
  /**
   * Only on a native passthrough (protocol/native-passthrough.ts): the
   * backend's own frames read since the previous event, this one's included,
   * in order. Every other consumer ignores it.
   */
  native?: readonly NativeFrame[];
};

type ChatEventBody =
  /** A piece of the assistant's text. */
  | { type: 'text-delta'; text: string }
  /** A piece of reasoning text (models that think aloud). */
  | { type: 'reasoning-delta'; text: string }
  /**
   * A piece of the model's refusal (OpenAI `delta.refusal`, Anthropic's refusal
   * explanation): sent as `refusal`, never as `content`, so structured-output
   * clients see a refusal instead of unparseable JSON.
   */
  | { type: 'refusal-delta'; text: string }
  /**
   * A piece of one tool call. The first delta of an `index` carries `id` and
   * `name`; later ones append to `arguments`.
   */
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; arguments: string }
  /**
   * Work before the first token that a waiting client should hear about
   * (model load, prompt prefill, queue position). Streamed as an SSE comment.
   */
  | { type: 'progress'; phase: 'queued' | 'load' | 'prefill'; done?: number; total?: number }
  /** The end of a successful generation. Always the last event. */
  | { type: 'finish'; finishReason: FinishReason; usage?: Usage; stats?: GenerationStats };

/** Everything that is not `progress`: the events that commit a response to a backend. */
export function isContentEvent(event: ChatEvent): boolean {
  return event.type !== 'progress';
}
