/**
 * Anthropic's Messages request body, as `POST /v1/messages` and
 * `/v1/messages/count_tokens` accept it. The fields the gateway reads are
 * checked here (a 400 naming the field); the rest is Anthropic's to define,
 * so objects are loose: a native passthrough forwards what it does not know
 * (and Anthropic judges it), a translation refuses it by name
 * (messages-to-chat-request.ts). Content blocks of the types the gateway
 * translates are checked by type; any other type passes as it is.
 */
import * as z from 'zod';

const MAX_TEXT = 4 * 1024 * 1024;
const text = z.string().max(MAX_TEXT);

export const textBlockSchema = z.looseObject({ type: z.literal('text'), text });
export const imageBlockSchema = z.looseObject({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string() }),
    z.looseObject({ type: z.literal('url'), url: z.string().min(1).max(MAX_TEXT) }),
    z.looseObject({ type: z.literal('file'), file_id: z.string().min(1) }),
  ]),
});
export const documentBlockSchema = z.looseObject({ type: z.literal('document'), source: z.looseObject({ type: z.string() }) });
export const toolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1).max(256),
  name: z.string().min(1).max(256),
  input: z.record(z.string(), z.unknown()),
});
export const toolResultBlockSchema = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1).max(256),
  content: z.union([text, z.array(z.looseObject({ type: z.string().min(1) }))]).optional(),
  is_error: z.boolean().optional(),
});
export const thinkingBlockSchema = z.looseObject({ type: z.literal('thinking'), thinking: text, signature: z.string() });
export const redactedThinkingBlockSchema = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });

/** The block types the gateway reads, each with its own schema. */
const KNOWN_BLOCKS: Readonly<Record<string, z.ZodType>> = {
  text: textBlockSchema,
  image: imageBlockSchema,
  document: documentBlockSchema,
  tool_use: toolUseBlockSchema,
  tool_result: toolResultBlockSchema,
  thinking: thinkingBlockSchema,
  redacted_thinking: redactedThinkingBlockSchema,
};

/** Any content block: checked by its type's schema when the gateway knows the type. */
export const contentBlockSchema = z.looseObject({ type: z.string().min(1).max(128) }).superRefine((block, context) => {
  const schema = KNOWN_BLOCKS[block.type];
  if (!schema) return;
  const result = schema.safeParse(block);
  if (result.success) return;
  for (const issue of result.error.issues) context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
});
export type ContentBlock = z.infer<typeof contentBlockSchema>;

export const messageParamSchema = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([text, z.array(contentBlockSchema)]),
});
export type MessageParam = z.infer<typeof messageParamSchema>;

export const toolParamSchema = z.looseObject({
  name: z.string().min(1).max(256),
  // Absent or `custom`: a client tool with an input schema. Anything else is a server tool (`web_search_20250305`).
  type: z.string().min(1).max(128).nullish(),
  description: z.string().max(16_384).optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
});
export type ToolParam = z.infer<typeof toolParamSchema>;

const parallel = { disable_parallel_tool_use: z.boolean().optional() };
export const toolChoiceParamSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), ...parallel }),
  z.looseObject({ type: z.literal('any'), ...parallel }),
  z.looseObject({ type: z.literal('tool'), name: z.string().min(1).max(256), ...parallel }),
  z.looseObject({ type: z.literal('none') }),
]);
export type ToolChoiceParam = z.infer<typeof toolChoiceParamSchema>;

const fields = {
  model: z.string().min(1).max(256).optional(),
  messages: z.array(messageParamSchema).min(1, 'must contain at least one message').max(10_000),
  system: z.union([text, z.array(textBlockSchema)]).optional(),
  tools: z.array(toolParamSchema).max(128).optional(),
  tool_choice: toolChoiceParamSchema.optional(),
  thinking: z.looseObject({ type: z.string().min(1), budget_tokens: z.int().min(1).optional() }).optional(),
  // Ours, as on chat completions: which agent, and which models to fall back to.
  agent_type: z.enum(['online', 'local']).optional(),
  fallback_models: z.array(z.string().min(1).max(256)).max(8).optional(),
};

/** `POST /v1/messages`. */
export const messagesRequestSchema = z.looseObject({
  ...fields,
  max_tokens: z.int().min(1).max(1_000_000),
  stop_sequences: z.array(z.string().min(1).max(256)).max(32).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.int().min(0).max(1000).optional(),
  metadata: z.looseObject({ user_id: z.string().max(256).nullish() }).optional(),
});
export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** `POST /v1/messages/count_tokens`: the prompt only. */
export const countTokensRequestSchema = z.looseObject(fields);
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;

/** The gateway's own routing fields, which never reach a backend. */
export const ROUTING_FIELDS = ['agent_type', 'fallback_models'] as const;
