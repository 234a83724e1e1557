/**
 * An OpenAI chat request as an Anthropic Messages request: parameters mapped,
 * refused where Anthropic has no equivalent (a 400 naming the field, never a
 * silent clamp), tools and tool_choice translated, response_format turned into
 * an instruction in the system prompt.
 */
import { requestedMaxTokens, stopSequences, type ResponseFormat, type Tool, type ToolChoice, type UpstreamChatRequest } from '../../../protocol/chat-request.ts';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { isNeutralValue, unsupportedField } from '../shared/unsupported-field.ts';
import type { AnthropicRequest, AnthropicTool, AnthropicToolChoice } from './anthropic-api.ts';
import { convertMessages } from './anthropic-messages.ts';

/** Anthropic requires max_tokens; OpenAI does not. Used when the caller sets no limit. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/**
 * OpenAI fields with no Anthropic equivalent that would change the answer.
 * OpenAI's mere hints (prompt_cache_key, prediction, modalities: ['text']) are
 * left out of the translation, which copies only what it knows.
 */
const REFUSED_FIELDS = [
  'presence_penalty',
  'frequency_penalty',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'n',
  'min_p',
  'repetition_penalty',
  'chat_template_kwargs',
  'reasoning_effort',
  'verbosity',
  'web_search_options',
  'audio',
] as const;

function checkCapabilities(request: UpstreamChatRequest): void {
  for (const field of REFUSED_FIELDS) {
    if (!isNeutralValue(field, request[field])) throw unsupportedField('anthropic', field);
  }
  if (request.temperature != null && request.temperature > 1) {
    // Anthropic's range is 0–1; clamping silently would change the sampling the caller asked for.
    throw invalidRequest("Invalid value for 'temperature': anthropic accepts 0 to 1.", 'temperature');
  }
}

function convertTool(tool: Tool): AnthropicTool {
  const converted: AnthropicTool = {
    name: tool.function.name,
    input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
  };
  if (tool.function.description) converted.description = tool.function.description;
  return converted;
}

function convertToolChoice(choice: ToolChoice | undefined, parallel: boolean | null | undefined): AnthropicToolChoice | undefined {
  let converted: AnthropicToolChoice | undefined;
  if (choice === 'auto') converted = { type: 'auto' };
  else if (choice === 'required') converted = { type: 'any' };
  else if (choice === 'none') converted = { type: 'none' };
  else if (choice !== undefined) converted = { type: 'tool', name: choice.function.name };
  if (parallel === false && converted?.type !== 'none') converted = { ...(converted ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return converted;
}

/** The instruction that stands in for OpenAI's JSON modes (Anthropic has no response_format). */
function formatInstruction(format: ResponseFormat | undefined): string | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'Respond with a single valid JSON object and nothing else: no prose, no code fences.';
  const schema = format.json_schema.schema ? `\n${JSON.stringify(format.json_schema.schema)}` : '';
  return `Respond with a single valid JSON value and nothing else (no prose, no code fences) that conforms to the JSON Schema named "${format.json_schema.name}":${schema}`;
}

/** The body POSTed to `{base}/v1/messages`, always streaming. */
export function buildAnthropicRequest(request: UpstreamChatRequest, model: string): AnthropicRequest {
  checkCapabilities(request);
  const { system, messages } = convertMessages(request.messages);
  const instruction = formatInstruction(request.response_format);
  const fullSystem = [system, instruction].filter((part): part is string => part !== undefined).join('\n\n');

  const body: AnthropicRequest = {
    model,
    max_tokens: requestedMaxTokens(request) ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
    messages,
    stream: true,
  };
  if (fullSystem !== '') body.system = fullSystem;
  if (request.temperature != null) body.temperature = request.temperature;
  if (request.top_p != null) body.top_p = request.top_p;
  if (request.top_k != null) body.top_k = request.top_k;
  const stop = stopSequences(request);
  if (stop.length > 0) body.stop_sequences = stop;
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map(convertTool);
    const toolChoice = convertToolChoice(request.tool_choice, request.parallel_tool_calls);
    if (toolChoice) body.tool_choice = toolChoice;
  }
  // OpenAI's safety_identifier is the newer name for what `user` was for: abuse tracking.
  const endUser = request.user ?? request.safety_identifier;
  if (endUser) body.metadata = { user_id: endUser };
  return body;
}
