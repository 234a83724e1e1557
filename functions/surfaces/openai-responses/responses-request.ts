/**
 * The OpenAI Responses request (`POST /v1/responses`), as the gateway accepts
 * it. Unknown fields are refused, as on chat completions, so a typo or a
 * feature the gateway does not have (hosted tools, `background`,
 * `conversation`) is a 400 naming the field instead of a silently different
 * answer. Item shapes are strict for the same reason; the `id`/`status` fields
 * that clients echo back from an earlier response are accepted and ignored.
 */
import * as z from 'zod';
import { toolSchema } from '../../../protocol/chat-request.ts';

const MAX_TEXT = 4 * 1024 * 1024;
const MAX_ITEMS = 10_000;

const text = z.string().max(MAX_TEXT);
const itemId = z.string().min(1).max(256);
// Items a client copies from an earlier response carry these; they change nothing.
const echoed = { id: itemId.optional(), status: z.enum(['in_progress', 'completed', 'incomplete']).optional() };

export const inputTextSchema = z.strictObject({ type: z.literal('input_text'), text });
export const inputImageSchema = z.strictObject({
  type: z.literal('input_image'),
  image_url: z.string().max(MAX_TEXT).nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(['auto', 'low', 'high']).optional(),
});
export const inputFileSchema = z.strictObject({
  type: z.literal('input_file'),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
  file_data: z.string().nullish(),
  filename: z.string().nullish(),
});
export const outputTextSchema = z.strictObject({
  type: z.literal('output_text'),
  text,
  // Citations an earlier answer carried: they annotate the text, the text is what a model reads.
  annotations: z.array(z.unknown()).optional(),
  logprobs: z.array(z.unknown()).optional(),
});
export const refusalSchema = z.strictObject({ type: z.literal('refusal'), refusal: text });

const contentPart = z.discriminatedUnion('type', [inputTextSchema, inputImageSchema, inputFileSchema, outputTextSchema, refusalSchema]);
export type ResponsesContentPart = z.infer<typeof contentPart>;

const role = z.enum(['user', 'assistant', 'system', 'developer']);

/** A message: `{role, content}` (the "easy" form) or `{type: "message", …}`. */
export const messageItemSchema = z.strictObject({
  type: z.literal('message').optional(),
  role,
  content: z.union([text, z.array(contentPart).max(1_000)]),
  ...echoed,
  // Codex-style clients tag assistant messages; it changes nothing here.
  phase: z.enum(['commentary', 'final_answer']).nullish(),
});

export const functionCallItemSchema = z.strictObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1).max(256),
  name: z.string().min(1).max(256),
  arguments: text,
  ...echoed,
});

export const functionCallOutputItemSchema = z.strictObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1).max(256),
  output: z.union([text, z.array(z.discriminatedUnion('type', [inputTextSchema, inputImageSchema, inputFileSchema])).max(1_000)]),
  ...echoed,
});

/** Reasoning from an earlier turn: accepted so clients can send it back, never forwarded (docs/responses.md). */
export const reasoningItemSchema = z.strictObject({
  type: z.literal('reasoning'),
  id: itemId.optional(),
  summary: z.array(z.strictObject({ type: z.literal('summary_text'), text })).optional(),
  content: z.array(z.strictObject({ type: z.literal('reasoning_text'), text })).nullish(),
  encrypted_content: z.string().nullish(),
  status: echoed.status,
});

/** An item of a stored response, named by id (the AI SDK sends these unless `store: false`). */
export const itemReferenceSchema = z.strictObject({ type: z.literal('item_reference'), id: itemId });

export const inputItemSchema = z.union([
  messageItemSchema,
  z.discriminatedUnion('type', [functionCallItemSchema, functionCallOutputItemSchema, reasoningItemSchema, itemReferenceSchema]),
]);
export type ResponsesInputItem = z.infer<typeof inputItemSchema>;
/** An input item with every reference resolved: what is stored and translated. */
export type ResolvedInputItem = Exclude<ResponsesInputItem, { type: 'item_reference' }>;

export const functionToolSchema = z.strictObject({
  type: z.literal('function'),
  name: toolSchema.shape.function.shape.name,
  description: z.string().max(16_384).nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
export type FunctionTool = z.infer<typeof functionToolSchema>;

export const responsesToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), name: z.string().min(1).max(256) }),
]);

export const textFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().max(16_384).nullish(),
    strict: z.boolean().nullish(),
  }),
]);
export type TextFormat = z.infer<typeof textFormatSchema>;

/**
 * `include` values the gateway can honour (it has nothing to add for them).
 * Logprobs and hosted-tool outputs are refused by name: the event stream cannot carry them.
 */
const INCLUDABLE = ['reasoning.encrypted_content', 'message.input_image.image_url'] as const;

export const responsesRequestSchema = z.strictObject({
  model: z.string().min(1).max(256).optional(),
  input: z.union([text, z.array(inputItemSchema).max(MAX_ITEMS)]),
  instructions: text.nullish(),
  previous_response_id: z.string().min(1).max(256).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  tools: z.array(functionToolSchema).max(128).optional(),
  tool_choice: responsesToolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.strictObject({ format: textFormatSchema.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  reasoning: z
    .strictObject({
      effort: z.enum(['none', 'minimal', 'low', 'medium', 'high']).nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
      generate_summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  max_output_tokens: z.int().min(1).max(1_000_000).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).refine((value) => Object.keys(value).length <= 16, 'at most 16 keys').nullish(),
  include: z.array(z.enum(INCLUDABLE)).max(INCLUDABLE.length).nullish(),
  // `disabled` is what the gateway does anyway; `auto` (drop context to fit) it cannot promise.
  truncation: z.literal('disabled', "only 'disabled' is supported").nullish(),
  user: z.string().max(256).optional(),
  safety_identifier: z.string().max(256).nullish(),
  prompt_cache_key: z.string().max(1024).nullish(),
  service_tier: z.string().max(32).nullish(),
  // Ours: which agent, and which models to fall back to (as on chat completions).
  agent_type: z.enum(['online', 'local']).optional(),
  fallback_models: z.array(z.string().min(1).max(256)).max(8).optional(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
