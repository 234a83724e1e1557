/**
 * A Responses request as the internal ChatRequest that the one agent layer
 * runs (routes/agent-run.ts), and the way back for the errors it raises: a
 * provider that refuses `reasoning_effort` is refusing this route's
 * `reasoning.effort`, so that is the `param` the client sees.
 */
import type { ChatMessage, ChatRequest, ResponseFormat, Tool, ToolChoice } from '../../../protocol/chat-request.ts';
import { GatewayError, invalidRequest } from '../../../protocol/gateway-error.ts';
import { itemsToMessages } from './responses-input.ts';
import type { ResolvedInputItem, ResponsesRequest, TextFormat } from './responses-request.ts';

function responseFormat(format: TextFormat | undefined): ResponseFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const jsonSchema: Extract<ResponseFormat, { type: 'json_schema' }>['json_schema'] = { name: format.name, schema: format.schema };
  if (format.description) jsonSchema.description = format.description;
  if (format.strict != null) jsonSchema.strict = format.strict;
  return { type: 'json_schema', json_schema: jsonSchema };
}

function toolChoice(choice: ResponsesRequest['tool_choice']): ToolChoice | undefined {
  if (choice === undefined || typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}

/** The request's own input items (a string is one user message). */
export function inputItems(request: ResponsesRequest, resolved: readonly ResolvedInputItem[]): ResolvedInputItem[] {
  return typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : [...resolved];
}

/**
 * The ChatRequest for `request`, after the `history` a previous response left
 * (its input and output items). `instructions` are this request's only: as on
 * OpenAI, a previous response's instructions do not carry over.
 */
export function toChatRequest(request: ResponsesRequest, history: readonly ResolvedInputItem[], input: readonly ResolvedInputItem[]): ChatRequest {
  const messages: ChatMessage[] = [];
  if (request.instructions) messages.push({ role: 'system', content: request.instructions });
  messages.push(...itemsToMessages(history, 'previous_response_id'), ...itemsToMessages(input, 'input'));
  if (messages.length === 0) throw invalidRequest("Invalid value for 'input': there is nothing to respond to.", 'input');

  const chat: ChatRequest = { messages, stream: request.stream === true };
  if (request.model !== undefined) chat.model = request.model;
  if (request.temperature != null) chat.temperature = request.temperature;
  if (request.top_p != null) chat.top_p = request.top_p;
  if (request.max_output_tokens != null) chat.max_completion_tokens = request.max_output_tokens;
  if (request.tools && request.tools.length > 0) {
    chat.tools = request.tools.map((tool) => {
      const fn: Tool['function'] = { name: tool.name };
      if (tool.description != null) fn.description = tool.description;
      if (tool.parameters != null) fn.parameters = tool.parameters;
      if (tool.strict != null) fn.strict = tool.strict;
      return { type: 'function' as const, function: fn };
    });
  }
  const choice = toolChoice(request.tool_choice);
  if (choice !== undefined) chat.tool_choice = choice;
  if (request.parallel_tool_calls != null) chat.parallel_tool_calls = request.parallel_tool_calls;
  const format = responseFormat(request.text?.format);
  if (format) chat.response_format = format;
  if (request.text?.verbosity) chat.verbosity = request.text.verbosity;
  if (request.reasoning?.effort) chat.reasoning_effort = request.reasoning.effort;
  if (request.user !== undefined) chat.user = request.user;
  if (request.safety_identifier) chat.safety_identifier = request.safety_identifier;
  if (request.prompt_cache_key) chat.prompt_cache_key = request.prompt_cache_key;
  if (request.service_tier) chat.service_tier = request.service_tier;
  if (request.agent_type !== undefined) chat.agent_type = request.agent_type;
  if (request.fallback_models !== undefined) chat.fallback_models = request.fallback_models;
  // `store` and `metadata` are this route's (the stored response, its echo), never an upstream's.
  return chat;
}

/** Chat field names as this route names them; a path inside `messages` points at the whole `input`. */
const PARAM_NAMES: Record<string, string> = {
  max_completion_tokens: 'max_output_tokens',
  max_tokens: 'max_output_tokens',
  reasoning_effort: 'reasoning.effort',
  response_format: 'text.format',
  verbosity: 'text.verbosity',
};

/** `error` with its `param` renamed from the chat request's vocabulary to this route's. */
export function renameChatParam(error: unknown): unknown {
  if (!GatewayError.isInstance(error) || error.param === null) return error;
  const param = error.param;
  const head = /^[a-z_]+/.exec(param)?.[0] ?? param;
  let renamed: string | undefined;
  if (head === 'messages') renamed = 'input';
  else if (PARAM_NAMES[head]) renamed = PARAM_NAMES[head] + param.slice(head.length);
  else if (head === 'tools') renamed = param.replace(/^tools(\[\d+\])\.function/, 'tools$1');
  if (renamed === undefined || renamed === param) return error;
  return error.with({ param: renamed, message: error.message.split(`'${param}'`).join(`'${renamed}'`) });
}
