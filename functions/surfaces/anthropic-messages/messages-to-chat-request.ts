/**
 * An Anthropic Messages body as the gateway's ChatRequest, for every backend
 * that does not take it natively (OpenAI, xAI, Groq, `local/…`): system
 * blocks as a system message, tool_result blocks as `tool` messages placed
 * right after the assistant turn that called them (Anthropic puts them first
 * in the next user turn), tool_use blocks as tool_calls with their ids kept,
 * images as data or http(s) URLs. Earlier turns' thinking blocks are left out
 * (no chat backend takes reasoning back). What has no chat equivalent (a PDF,
 * a server tool, a field the gateway does not know) is not dropped silently:
 * it is recorded as the 400 that such a backend answers, naming the field,
 * and a placeholder keeps the request well-formed for the candidates that
 * never read it (a native passthrough).
 */
import { chatRequestSchema, type ChatMessage, type ChatRequest, type ImagePart, type TextPart, type Tool, type ToolChoice } from '../../../protocol/chat-request.ts';
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';
import { describeIssue } from '../../../protocol/validate.ts';
import {
  imageBlockSchema,
  textBlockSchema,
  toolResultBlockSchema,
  toolUseBlockSchema,
  type ContentBlock,
  type CountTokensRequest,
  type MessageParam,
  type MessagesRequest,
  type ToolChoiceParam,
  type ToolParam,
} from './messages-request.ts';

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
const PLACEHOLDER: TextPart = { type: 'text', text: '[content only the native API can carry]' };

/** Collects the first untranslatable field while the translation goes on. */
class Problems {
  first: GatewayError | undefined;
  note(param: string, what: string): void {
    this.first ??= invalidRequest(`'${param}': ${what} cannot be translated for this backend; only anthropic/… models take it.`, param, 'unsupported_parameter');
  }
}

function blockText(block: ContentBlock): string {
  return textBlockSchema.parse(block).text;
}

function imagePart(block: ContentBlock, param: string, problems: Problems): ImagePart | TextPart {
  const { source } = imageBlockSchema.parse(block);
  if (source.type === 'base64') return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } };
  problems.note(`${param}.source`, 'an image by file_id');
  return PLACEHOLDER;
}

/**
 * A tool_result's content: its text for the `tool` message, and its images,
 * which a chat `tool` message cannot hold, for the user message right after it.
 */
function toolResultContent(content: string | ContentBlock[] | undefined, param: string, problems: Problems): { text: string; images: Array<ImagePart | TextPart> } {
  if (content === undefined) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  let text = '';
  const images: Array<ImagePart | TextPart> = [];
  content.forEach((block, index) => {
    if (block.type === 'text') text += blockText(block);
    else if (block.type === 'image') images.push(imagePart(block, `${param}.content[${index}]`, problems));
    else {
      problems.note(`${param}.content[${index}]`, `a '${block.type}' block inside a tool_result`);
      text += PLACEHOLDER.text;
    }
  });
  return { text, images };
}

function userTurn(message: MessageParam, index: number, problems: Problems): ChatMessage[] {
  if (typeof message.content === 'string') return [{ role: 'user', content: message.content }];
  const toolMessages: ChatMessage[] = [];
  const parts: Array<TextPart | ImagePart> = [];
  message.content.forEach((block, blockIndex) => {
    const param = `messages[${index}].content[${blockIndex}]`;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: blockText(block) });
        break;
      case 'image':
        parts.push(imagePart(block, param, problems));
        break;
      case 'tool_result': {
        const result = toolResultBlockSchema.parse(block);
        const { text, images } = toolResultContent(result.content, param, problems);
        toolMessages.push({ role: 'tool', tool_call_id: result.tool_use_id, content: text });
        if (images.length > 0) parts.push({ type: 'text', text: `The images the tool call ${result.tool_use_id} returned:` }, ...images);
        break;
      }
      default:
        problems.note(param, `a '${block.type}' block`);
        parts.push(PLACEHOLDER);
    }
  });
  // Anthropic puts tool results first in the user turn; chat wants them right after the calls.
  return parts.length > 0 ? [...toolMessages, { role: 'user', content: parts }] : toolMessages;
}

function assistantTurn(message: MessageParam, index: number, problems: Problems): ChatMessage[] {
  if (typeof message.content === 'string') return [{ role: 'assistant', content: message.content }];
  let content = '';
  const toolCalls: NonNullable<Extract<ChatMessage, { role: 'assistant' }>['tool_calls']> = [];
  message.content.forEach((block, blockIndex) => {
    switch (block.type) {
      case 'text':
        content += blockText(block);
        break;
      case 'tool_use': {
        const call = toolUseBlockSchema.parse(block);
        toolCalls.push({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.input) } });
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break; // an earlier turn's reasoning: chat backends take none back
      default:
        problems.note(`messages[${index}].content[${blockIndex}]`, `a '${block.type}' block`);
    }
  });
  const turn: ChatMessage = { role: 'assistant', content: content === '' && toolCalls.length > 0 ? null : content };
  if (toolCalls.length > 0) turn.tool_calls = toolCalls;
  return [turn];
}

function systemMessage(system: CountTokensRequest['system']): ChatMessage[] {
  if (system === undefined || system === '' || (Array.isArray(system) && system.length === 0)) return [];
  return [{ role: 'system', content: typeof system === 'string' ? system : system.map((block) => ({ type: 'text' as const, text: block.text })) }];
}

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
