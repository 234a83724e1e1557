/**
 * Responses input items as chat messages: what the agent layer (and every
 * provider behind it) understands. Consecutive function calls, and the
 * assistant text just before them, become one assistant message with
 * `tool_calls`, as chat completions expects; a call's output becomes a `tool`
 * message. Reasoning items are dropped: no backend takes reasoning back as
 * input through the chat shape. Anything that cannot be carried (files, image
 * ids) is a 400 naming the item.
 */
import type { ChatMessage, ImagePart, TextPart, ToolCall } from '../../../protocol/chat-request.ts';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import type { ResolvedInputItem, ResponsesContentPart } from './responses-request.ts';

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

function unsupported(param: string, what: string): never {
  throw invalidRequest(`${what} is not supported by this gateway; send the content as input_text or an input_image URL.`, param, 'unsupported_parameter');
}

function imagePart(part: Extract<ResponsesContentPart, { type: 'input_image' }>, param: string): ImagePart {
  if (!part.image_url) return unsupported(`${param}.file_id`, 'An input_image by file_id');
  const converted: ImagePart = { type: 'image_url', image_url: { url: part.image_url } };
  if (part.detail) converted.image_url.detail = part.detail;
  return converted;
}

/** User content: text and images; anything else is refused. */
function userContent(content: string | ResponsesContentPart[], param: string): string | Array<TextPart | ImagePart> {
  if (typeof content === 'string') return content;
  return content.map((part, index): TextPart | ImagePart => {
    const at = `${param}[${index}]`;
    switch (part.type) {
      case 'input_text':
        return { type: 'text', text: part.text };
      case 'output_text':
        return { type: 'text', text: part.text };
      case 'input_image':
        return imagePart(part, at);
      case 'input_file':
        return unsupported(at, 'input_file');
      case 'refusal':
        return unsupported(at, 'A refusal part in a user message');
    }
  });
}

/** Text-only content (system, developer, assistant): the parts' text joined. */
function plainText(content: string | ResponsesContentPart[], param: string): { text: string; refusal: string } {
  if (typeof content === 'string') return { text: content, refusal: '' };
  let text = '';
  let refusal = '';
  content.forEach((part, index) => {
    if (part.type === 'input_text' || part.type === 'output_text') text += part.text;
    else if (part.type === 'refusal') refusal += part.refusal;
    else unsupported(`${param}[${index}]`, `${part.type} in a system, developer or assistant message`);
  });
  return { text, refusal };
}

function toolOutput(output: Extract<ResolvedInputItem, { type: 'function_call_output' }>['output'], param: string): string {
  if (typeof output === 'string') return output;
  return output
    .map((part, index) => (part.type === 'input_text' ? part.text : unsupported(`${param}[${index}]`, `${part.type} in a function_call_output`)))
    .join('');
}

/**
 * The chat messages for `items` (`param` prefixes the names in errors:
 * `input`, or where stored history came from).
 */
export function itemsToMessages(items: readonly ResolvedInputItem[], param: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  // The assistant message that function calls attach to, while nothing else came between.
  let assistant: AssistantMessage | undefined;

  items.forEach((item, index) => {
    const at = `${param}[${index}]`;
    if (item.type === 'function_call') {
      const call: ToolCall = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      if (!assistant) {
        assistant = { role: 'assistant', content: null };
        messages.push(assistant);
      }
      assistant.tool_calls = [...(assistant.tool_calls ?? []), call];
      return;
    }
    assistant = undefined;
    if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: toolOutput(item.output, `${at}.output`) });
      return;
    }
    if (item.type === 'reasoning') return;
    if (item.role === 'user') {
      messages.push({ role: 'user', content: userContent(item.content, `${at}.content`) });
      return;
    }
    const { text, refusal } = plainText(item.content, `${at}.content`);
    if (item.role === 'assistant') {
      assistant = { role: 'assistant', content: text === '' && refusal !== '' ? null : text };
      if (refusal !== '') assistant.refusal = refusal;
      messages.push(assistant);
      return;
    }
    messages.push({ role: item.role, content: text });
  });
  return messages;
}
