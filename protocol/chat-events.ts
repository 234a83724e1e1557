/**
 * The normalized stream every backend produces: the four cloud providers and the
 * bridge tunnel alike. One SSE encoder and one JSON aggregator turn it into the
 * OpenAI wire shapes, so a client cannot tell backends apart except by metadata.
 */

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

/** One token of the answer with its log probability (OpenAI's `logprobs.content[]` entry). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  /** The most likely tokens at this position (as many as `top_logprobs` asked for). */
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

export type ChatEvent =
  /**
   * A piece of the assistant's text; with `logprobs` (when the client asked and
   * the backend reports them) the tokens that make it up.
   */
  | { type: 'text-delta'; text: string; logprobs?: TokenLogprob[] }
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
