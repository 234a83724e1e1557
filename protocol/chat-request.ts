/**
 * The OpenAI chat completions request, as the gateway accepts it. Unknown
 * fields are refused (as OpenAI does) so a typo is a 400 naming the field rather
 * than a silently ignored setting.
 *
 * Import zod as a namespace (`import * as z`): `import { z }` defeats tree
 * shaking and costs the Worker ~65 KB gzip.
 */
import * as z from 'zod';

const MAX_MESSAGES = 10_000;
const MAX_TEXT = 4 * 1024 * 1024;

export const textPartSchema = z.strictObject({ type: z.literal('text'), text: z.string().max(MAX_TEXT) });
export const imagePartSchema = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z.string().max(MAX_TEXT),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});
export type TextPart = z.infer<typeof textPartSchema>;
export type ImagePart = z.infer<typeof imagePartSchema>;

const textContent = z.union([z.string().max(MAX_TEXT), z.array(textPartSchema).min(1)]);
const userContent = z.union([
  z.string().max(MAX_TEXT),
  z.array(z.discriminatedUnion('type', [textPartSchema, imagePartSchema])).min(1),
]);

export const toolCallSchema = z.strictObject({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1).max(256), arguments: z.string().max(MAX_TEXT) }),
});
export type ToolCall = z.infer<typeof toolCallSchema>;

const name = z.string().min(1).max(256).optional();

export const messageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: textContent, name }),
  z.strictObject({ role: z.literal('developer'), content: textContent, name }),
  z.strictObject({ role: z.literal('user'), content: userContent, name }),
  z.strictObject({
    role: z.literal('assistant'),
    content: textContent.nullish(),
    name,
    refusal: z.string().nullish(),
    tool_calls: z.array(toolCallSchema).max(128).optional(),
  }),
  z.strictObject({ role: z.literal('tool'), content: textContent, tool_call_id: z.string().min(1).max(256) }),
]);
export type ChatMessage = z.infer<typeof messageSchema>;

export const toolSchema = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    description: z.string().max(16_384).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});
export type Tool = z.infer<typeof toolSchema>;

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
]);
export type ToolChoice = z.infer<typeof toolChoiceSchema>;

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof responseFormatSchema>;

const penalty = z.number().min(-2).max(2);

export const chatRequestSchema = z.strictObject({
  model: z.string().min(1).max(256).optional(),
  messages: z.array(messageSchema).min(1, 'must contain at least one message').max(MAX_MESSAGES),
  // Sampling
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.int().min(1).max(1_000_000).nullish(),
  max_completion_tokens: z.int().min(1).max(1_000_000).nullish(),
  stop: z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)]).nullish(),
  seed: z.int().nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  presence_penalty: penalty.nullish(),
  frequency_penalty: penalty.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
  // Extensions that local runners (mlx-lm, vLLM) understand.
  top_k: z.int().min(0).max(1000).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().min(0).max(10).nullish(),
  // Variables for the model's chat template (`{"enable_thinking": false}`), as vLLM and mlx_lm.server take them.
  chat_template_kwargs: z.record(z.string().max(64), z.unknown()).nullish(),
  // Tools and output shape
  tools: z.array(toolSchema).max(128).optional(),
  tool_choice: toolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.optional(),
  // Streaming
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  // Passed through to OpenAI-compatible upstreams that know them. The object
  // fields are OpenAI's to define and change: checked only for their shape
  // (an object), their contents left to the upstream to judge.
  user: z.string().max(256).optional(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string().max(512)).nullish(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high']).nullish(),
  verbosity: z.enum(['low', 'medium', 'high']).nullish(),
  service_tier: z.string().max(32).nullish(),
  prompt_cache_key: z.string().max(1024).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  // Only text comes back through the gateway's stream and aggregator.
  modalities: z.array(z.literal('text', "only 'text' output is supported")).max(1).nullish(),
  prediction: z.looseObject({ type: z.string() }).nullish(),
  web_search_options: z.record(z.string(), z.unknown()).nullish(),
  audio: z.record(z.string(), z.unknown()).nullish(),
  // Ours: which agent, and which models to fall back to.
  agent_type: z.enum(['online', 'local']).optional(),
  fallback_models: z.array(z.string().min(1).max(256)).max(8).optional(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/**
 * A request as one upstream receives it, made once by the agent for each model
 * it tries: none of the gateway's routing fields, and `model` the upstream's own
 * name (`gpt-4o`, the bridge's `mlx-community/…`). `ChatModelCall` takes only
 * this, so the compiler proves that no later hop needs to strip the request again.
 */
export const upstreamChatRequestSchema = chatRequestSchema
  .omit({ agent_type: true, fallback_models: true })
  .extend({ model: z.string().min(1).max(256) });
// `never` rather than mere absence: a spread of a ChatRequest, which may carry them, does not fit.
export type UpstreamChatRequest = z.infer<typeof upstreamChatRequestSchema> & { agent_type?: never; fallback_models?: never };

/** The token limit the client asked for, whichever of the two names it used. */
export function requestedMaxTokens(request: ChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

/** `stop` as a list. */
export function stopSequences(request: ChatRequest): string[] {
  if (request.stop == null) return [];
  return typeof request.stop === 'string' ? [request.stop] : request.stop;
}

/** The text of a message's content, parts joined. */
export function contentText(content: string | ReadonlyArray<{ type: string; text?: string }> | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
}
