/**
 * Anthropic's conversation as chat messages: system blocks as a system
 * message, tool_result blocks as `tool` messages placed right after the
 * assistant turn that called them (Anthropic puts them first in the next user
 * turn), tool_use blocks as tool_calls with their ids kept, images as data or
 * http(s) URLs, earlier turns' thinking left out. What has no chat
 * equivalent is noted in `Problems` (the 400 a chat backend answers) and
 * stands as a placeholder, so the request stays well-formed.
 */
import type { ChatMessage, ImagePart, TextPart } from '../../../protocol/chat-request.ts';
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';
import {
  imageBlockSchema,
  textBlockSchema,
  toolResultBlockSchema,
  toolUseBlockSchema,
  type ContentBlock,
  type CountTokensRequest,
  type MessageParam,
} from './messages-request.ts';

/** Stands in for what only the native API can carry. */
const PLACEHOLDER: TextPart = { type: 'text', text: '[content only the native API can carry]' };

/** Collects the first untranslatable field while the translation goes on. */
export class Problems {
  first: GatewayError | undefined;
  /** Records the 400 for `param`, unless an earlier one was recorded. */
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

/** A user turn: its tool results as `tool` messages, then the rest. */
export function userTurn(message: MessageParam, index: number, problems: Problems): ChatMessage[] {
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

/** An assistant turn: its text and tool calls. */
export function assistantTurn(message: MessageParam, index: number, problems: Problems): ChatMessage[] {
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

/** The system prompt as a system message; none when empty. */
export function systemMessage(system: CountTokensRequest['system']): ChatMessage[] {
  if (system === undefined || system === '' || (Array.isArray(system) && system.length === 0)) return [];
  return [{ role: 'system', content: typeof system === 'string' ? system : system.map((block) => ({ type: 'text' as const, text: block.text })) }];
}
