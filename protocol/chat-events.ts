/**
 * The normalized stream every backend produces: the four cloud providers and the
 * bridge tunnel alike. One SSE encoder and one JSON aggregator turn it into the
 * OpenAI wire shapes, so a client cannot tell backends apart except by metadata.
 *
 * The schema is the one definition: the types are inferred from it, and the
 * tunnel's frames (protocol/tunnel-frames.ts) and the Durable Object's NDJSON
 * lines (functions/tunnel/tunnel-stream-lines.ts) compose these pieces.
 */
import * as z from 'zod';
import type { NativeFrame } from './native-passthrough.ts';

const count = z.number().int().min(0);

export const FINISH_REASONS = ['stop', 'length', 'tool_calls', 'content_filter'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export const usageSchema = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: z.object({ cached_tokens: count.optional(), cache_creation_tokens: count.optional() }).optional(),
  completion_tokens_details: z.object({ reasoning_tokens: count.optional() }).optional(),
});
export type Usage = z.infer<typeof usageSchema>;

/** Backend-side figures for one generation (local runners fill these in). */
export const statsSchema = z.object({
  ttft_ms: z.number().min(0).optional(),
  queue_ms: z.number().min(0).optional(),
  load_ms: z.number().min(0).optional(),
  prompt_tps: z.number().min(0).optional(),
  generation_tps: z.number().min(0).optional(),
  peak_memory_bytes: z.number().min(0).optional(),
});
export type GenerationStats = z.infer<typeof statsSchema>;

const tokenLogprobBase = {
  token: z.string().max(1024),
  logprob: z.number(),
  bytes: z.array(z.number().int().min(0).max(255)).max(4096).nullable(),
};
/** One token of the answer with its log probability (OpenAI's `logprobs.content[]` entry). */
export const tokenLogprobSchema = z.object({
  ...tokenLogprobBase,
  /** The most likely tokens at this position (as many as `top_logprobs` asked for). */
  top_logprobs: z.array(z.object(tokenLogprobBase)).max(20),
});
export type TokenLogprob = z.infer<typeof tokenLogprobSchema>;

/** The content events: what a tunnel `delta` frame batches, in order. */
export const deltaEventSchema = z.discriminatedUnion('type', [
  /**
   * A piece of the assistant's text; with `logprobs` (when the client asked and
   * the backend reports them) the tokens that make it up.
   */
  z.object({ type: z.literal('text-delta'), text: z.string(), logprobs: z.array(tokenLogprobSchema).max(100_000).optional() }),
  /** A piece of reasoning text (models that think aloud). */
  z.object({ type: z.literal('reasoning-delta'), text: z.string() }),
  /**
   * A piece of the model's refusal (OpenAI `delta.refusal`, Anthropic's refusal
   * explanation): sent as `refusal`, never as `content`, so structured-output
   * clients see a refusal instead of unparseable JSON.
   */
  z.object({ type: z.literal('refusal-delta'), text: z.string() }),
  /**
   * A piece of one tool call. The first delta of an `index` carries `id` and
   * `name`; later ones append to `arguments`.
   */
  z.object({
    type: z.literal('tool-call-delta'),
    index: z.number().int().min(0).max(1023),
    id: z.string().max(256).optional(),
    name: z.string().max(256).optional(),
    arguments: z.string(),
  }),
]);
export type DeltaEvent = z.infer<typeof deltaEventSchema>;

/**
 * Work before the first token that a waiting client should hear about
 * (model load, prompt prefill, queue position). Streamed as an SSE comment.
 */
export const progressEventSchema = z.object({
  type: z.literal('progress'),
  phase: z.enum(['queued', 'load', 'prefill']),
  done: z.number().optional(),
  total: z.number().optional(),
});

/** The end of a successful generation. Always the last event. */
export const finishEventSchema = z.object({
  type: z.literal('finish'),
  finishReason: z.enum(FINISH_REASONS),
  usage: usageSchema.optional(),
  stats: statsSchema.optional(),
});

export const chatEventSchema = z.union([deltaEventSchema, progressEventSchema, finishEventSchema]);
/** The normalized events, each possibly carrying the native frames it came from (see below). */
export type ChatEvent = z.infer<typeof chatEventSchema> & {
  /**
   * Only on a native passthrough (protocol/native-passthrough.ts): the
   * backend's own frames read since the previous event, this one's included,
   * in order. Never on the tunnel; every other consumer ignores it.
   */
  native?: readonly NativeFrame[];
};

/** Everything that is not `progress`: the events that commit a response to a backend. */
export function isContentEvent(event: ChatEvent): boolean {
  return event.type !== 'progress';
}
