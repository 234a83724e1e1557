/**
 * The MLX worker's stdio protocol (bridge/python/mlx_worker.py): commands the
 * bridge writes to stdin and the events the worker writes to stdout, one JSON
 * object per line. Events are parsed with zod (the worker is another process);
 * commands are typed only. Documented in docs/bridge.md.
 */
import * as z from 'zod';
import type { Tool, ToolCall } from '../../../protocol/chat-request.ts';
import type { SamplingParams } from '../generation-config.ts';
import { statsSchema, tokenLogprobSchema } from '../../../protocol/chat-events.ts';
import { safeParseJson } from '../../../protocol/validate.ts';

/** A message as chat templates take it (OpenAI's shape, text only): tool calls and results included. */
export interface WorkerMessage {
  role: string;
  content: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

/** What the worker passes to make_sampler / make_logits_processors, plus the limits. */
export interface WorkerGenerationConfig extends SamplingParams {
  max_tokens: number;
  stop: string[];
  /** Token id (as a string, OpenAI's key) → additive bias. */
  logit_bias?: Record<string, number>;
  /** `false`: the answer ends with its first tool call. */
  parallel_tool_calls?: boolean;
  /** Report each answer token's log probability, with this many alternatives. */
  logprobs?: boolean;
  top_logprobs?: number;
}

/** A `json_object` / `json_schema` response_format as the worker's grammar takes it. */
export interface WorkerResponseFormat {
  type: 'json_object' | 'json_schema';
  schema?: Record<string, unknown>;
}

/**
 * Where the worker finds a model: `path`, its weights folder; else the Hub repo
 * `model_id`, downloaded only with `download: true` (otherwise, and when
 * absent, only from the Hugging Face cache: `not_offered` when it is not there).
 */
interface WorkerModelSource {
  path?: string;
  download?: boolean;
}

export type WorkerCommand =
  | ({ op: 'load'; id: string; model_id: string; context_length?: number } & WorkerModelSource)
  | ({
      op: 'generate';
      id: string;
      model_id: string;
      context_length?: number;
      messages: WorkerMessage[];
      /** For the chat template's tools block; the answer's tool blocks are parsed by mlx-lm's parser. */
      tools?: Tool[];
      /** `false` (tool_choice "none"): the tools are shown to the model, its tool blocks stay text. */
      parse_tools?: boolean;
      /** A forced tool call, enforced by constrained decoding: one call or more to any tool, or one to the named one. */
      tool_choice?: 'required' | { name: string };
      /** Extra chat template variables (`enable_thinking`, a request's `chat_template_kwargs`). */
      template_kwargs?: Record<string, unknown>;
      /** JSON output enforced by constrained decoding; `schema` absent: any JSON object. */
      response_format?: WorkerResponseFormat;
      generation_config: WorkerGenerationConfig;
    } & WorkerModelSource)
  | { op: 'cancel'; id: string }
  | { op: 'unload'; id?: string; model_id?: string }
  | { op: 'stats'; id?: string }
  | { op: 'shutdown' };

const id = z.string().min(1);
const optionalId = id.nullish();
const count = z.number().int().min(0);

export const workerEventSchema = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('ready'),
    pid: z.number().int(),
    mlx_lm_version: z.string(),
    mlx_version: z.string(),
    recommended_working_set_bytes: z.number().nullish(),
  }),
  z.object({ event: z.literal('fatal'), code: z.string(), message: z.string() }),
  z.object({ event: z.literal('loaded'), id: optionalId, model_id: z.string(), bytes: count, load_ms: z.number().min(0) }),
  z.object({
    event: z.literal('progress'),
    id: optionalId,
    phase: z.enum(['load', 'prefill', 'queued']),
    done: z.number().min(0).optional(),
    total: z.number().min(0).optional(),
  }),
  z.object({ event: z.literal('delta'), id, text: z.string(), logprobs: z.array(tokenLogprobSchema).optional() }),
  z.object({ event: z.literal('reasoning'), id, text: z.string() }),
  z.object({
    event: z.literal('tool_call'),
    id,
    index: count,
    /** The first piece of a call names it; later pieces append to its arguments. */
    call_id: z.string().min(1).max(256).optional(),
    name: z.string().min(1).max(256).optional(),
    arguments: z.string(),
  }),
  z.object({
    event: z.literal('done'),
    id,
    finish_reason: z.enum(['stop', 'length', 'tool_calls', 'cancelled']),
    usage: z.object({ prompt_tokens: count, completion_tokens: count, reasoning_tokens: count.optional(), cached_tokens: count.optional() }),
    stats: statsSchema,
  }),
  z.object({ event: z.literal('error'), id: optionalId, code: z.string(), message: z.string(), param: z.string().optional() }),
  z.object({
    event: z.literal('heartbeat'),
    busy: z.string().nullish(),
    phase: z.enum(['load', 'prefill', 'generate']).nullish(),
    progress: count,
  }),
  z.object({
    event: z.literal('unloaded'),
    id: optionalId,
    model_ids: z.array(z.string()),
    reason: z.enum(['idle', 'request', 'memory', 'shutdown']),
  }),
  z.object({
    event: z.literal('stats'),
    id: optionalId,
    models: z.array(
      z.object({
        model_id: z.string(),
        bytes: count,
        idle_sec: z.number(),
        /** The model's kept prompt caches (entries and bytes), for reuse by the next turn. */
        prompt_caches: count.optional(),
        prompt_cache_bytes: count.optional(),
      }),
    ),
    memory: z.object({
      active_bytes: count,
      peak_bytes: count,
      cache_bytes: count,
      recommended_working_set_bytes: z.number().nullish(),
    }),
    busy: z.string().nullish(),
  }),
  z.object({ event: z.literal('bye') }),
]);

export type WorkerEvent = z.infer<typeof workerEventSchema>;
/** One event type by name: `WorkerEventOf<'done'>`. */
export type WorkerEventOf<E extends WorkerEvent['event']> = Extract<WorkerEvent, { event: E }>;

/** Parses one stdout line; `undefined` for anything that is not a known event. */
export function parseWorkerEvent(line: string): WorkerEvent | undefined {
  const json = safeParseJson(line);
  if (!json.ok) return undefined;
  const parsed = workerEventSchema.safeParse(json.value);
  return parsed.success ? parsed.data : undefined;
}
