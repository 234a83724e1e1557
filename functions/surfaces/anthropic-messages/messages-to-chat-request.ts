/**
 * An Anthropic Messages body as the gateway's ChatRequest, for every backend
 * that does not take it natively (OpenAI, xAI, Groq, `local/…`): the
 * conversation (anthropic-turns-to-chat.ts), client tools and tool_choice,
 * the sampling fields. What has no chat equivalent (a PDF,
 * a server tool, a field the gateway does not know) is not dropped silently:
 * it is recorded as the 400 that such a backend answers, naming the field,
 * and a placeholder keeps the request well-formed for the candidates that
 * never read it (a native passthrough).
 */
import { chatRequestSchema, type ChatMessage, type ChatRequest, type Tool, type ToolChoice } from '../../../protocol/chat-request.ts';
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';
import { describeIssue } from '../../../protocol/validate.ts';
import { assistantTurn, Problems, systemMessage, userTurn } from './anthropic-turns-to-chat.ts';
import type { CountTokensRequest, MessagesRequest, ToolChoiceParam, ToolParam } from './messages-request.ts';

export interface TranslatedRequest {
  request: ChatRequest;
  /** The first thing a chat backend cannot take, as its 400; undefined when everything translated. */
  untranslatable: GatewayError | undefined;
}

/** Top-level fields translated below, or read by the gateway itself. */
const TRANSLATED_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'tools',
  'tool_choice',
  'thinking',
  'agent_type',
  'fallback_models',
  'max_tokens',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'metadata',
]);
/**
 * Anthropic's server-side hints with no chat equivalent that leave the
 * request's meaning whole: left out, not refused. Without them the backend
 * gets the full conversation (no context editing) at its one service tier.
 */
const IGNORED_HINTS = new Set(['service_tier', 'context_management']);

function chatTools(tools: readonly ToolParam[], problems: Problems): Tool[] {
  const converted: Tool[] = [];
  tools.forEach((tool, index) => {
    if (tool.type != null && tool.type !== 'custom') {
      problems.note(`tools[${index}]`, `the server tool '${tool.type}'`);
      return;
    }
    const fn: Tool['function'] = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } };
    if (tool.description !== undefined) fn.description = tool.description;
    converted.push({ type: 'function', function: fn });
  });
  return converted;
}

function chatToolChoice(choice: ToolChoiceParam): ToolChoice {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
  }
}

/** The conversation, system prompt and tools: what both routes translate. */
function translatePrompt(body: CountTokensRequest, problems: Problems): Pick<ChatRequest, 'messages' | 'tools' | 'tool_choice' | 'parallel_tool_calls'> {
  const messages: ChatMessage[] = [...systemMessage(body.system)];
  body.messages.forEach((message, index) => {
    messages.push(...(message.role === 'user' ? userTurn(message, index, problems) : assistantTurn(message, index, problems)));
  });
  const prompt: Pick<ChatRequest, 'messages' | 'tools' | 'tool_choice' | 'parallel_tool_calls'> = { messages };
  const tools = chatTools(body.tools ?? [], problems);
  if (tools.length > 0) prompt.tools = tools;
  const choice = body.tool_choice;
  if (choice && (tools.length > 0 || choice.type === 'none')) {
    prompt.tool_choice = chatToolChoice(choice);
    if (choice.type !== 'none' && choice.disable_parallel_tool_use === true) prompt.parallel_tool_calls = false;
  }
  return prompt;
}

function noteUnknownFields(body: Readonly<Record<string, unknown>>, problems: Problems): void {
  for (const field of Object.keys(body)) {
    if (!TRANSLATED_FIELDS.has(field) && !IGNORED_HINTS.has(field)) problems.note(field, 'this field');
  }
}

/** A translation the chat schema refuses is the backend's 400 too, never a crash. */
function checked(request: ChatRequest, problems: Problems): TranslatedRequest {
  const result = chatRequestSchema.safeParse(request);
  if (!result.success && !problems.first) {
    const { param, message } = describeIssue(result.error);
    problems.first = invalidRequest(`The request cannot be translated for this backend (${message}).`, param);
  }
  return { request, untranslatable: problems.first };
}

/** `POST /v1/messages` as a ChatRequest. */
export function messagesToChatRequest(body: MessagesRequest): TranslatedRequest {
  const problems = new Problems();
  noteUnknownFields(body, problems);
  const request: ChatRequest = { ...translatePrompt(body, problems), max_tokens: body.max_tokens };
  if (body.model !== undefined) request.model = body.model;
  if (body.stream === true) request.stream = true;
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.top_p = body.top_p;
  if (body.top_k !== undefined) request.top_k = body.top_k;
  if (body.stop_sequences && body.stop_sequences.length > 0) {
    if (body.stop_sequences.length > 4) problems.note('stop_sequences', 'more than 4 stop sequences');
    request.stop = body.stop_sequences.slice(0, 4);
  }
  if (body.metadata?.user_id) request.user = body.metadata.user_id;
  if (body.agent_type !== undefined) request.agent_type = body.agent_type;
  if (body.fallback_models !== undefined) request.fallback_models = body.fallback_models;
  return checked(request, problems);
}

/** `POST /v1/messages/count_tokens` as a ChatRequest (for model selection and the estimate). */
export function countTokensToChatRequest(body: CountTokensRequest): TranslatedRequest {
  const problems = new Problems();
  const request: ChatRequest = translatePrompt(body, problems);
  if (body.model !== undefined) request.model = body.model;
  if (body.agent_type !== undefined) request.agent_type = body.agent_type;
  return checked(request, problems);
}
