/**
 * OpenAI chat messages to Anthropic's: system and developer messages lifted into
 * `system`; images as base64 or url sources; assistant tool_calls as tool_use
 * blocks; tool messages as tool_result blocks in a user turn; consecutive turns of
 * one role merged (Anthropic wants user and assistant to alternate).
 */
import { contentText, type ChatMessage, type ImagePart, type TextPart } from '../../../protocol/chat-request.ts';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { safeParseJson } from '../../../protocol/validate.ts';
import type { AnthropicContentBlock, AnthropicImageSource, AnthropicMessage } from './anthropic-api.ts';

export interface ConvertedMessages {
  /** The system prompt, or undefined when there was none. */
  system: string | undefined;
  messages: AnthropicMessage[];
}

const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageSource(url: string, param: string): AnthropicImageSource {
  const data = DATA_URL.exec(url);
  if (data) {
    const mediaType = (data[1] ?? '').toLowerCase();
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw invalidRequest(`Unsupported image type '${mediaType}' for anthropic: use JPEG, PNG, GIF or WebP.`, param, 'unsupported_parameter');
    }
    return { type: 'base64', media_type: mediaType, data: data[2] ?? '' };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  throw invalidRequest("Invalid image URL: expected a base64 'data:image/…' URL or an http(s) URL.", param);
}

function userBlocks(content: string | Array<TextPart | ImagePart>, index: number): AnthropicContentBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const blocks: AnthropicContentBlock[] = [];
  content.forEach((part, partIndex) => {
    if (part.type === 'text') {
      // Anthropic refuses empty text blocks.
      if (part.text !== '') blocks.push({ type: 'text', text: part.text });
    } else {
      blocks.push({ type: 'image', source: imageSource(part.image_url.url, `messages[${index}].content[${partIndex}].image_url.url`) });
    }
  });
  return blocks;
}

function toolInput(argumentsText: string, param: string): Record<string, unknown> {
  if (argumentsText.trim() === '') return {};
  const json = safeParseJson(argumentsText);
  if (!json.ok || typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) {
    throw invalidRequest('Tool call arguments must be a JSON object.', param);
  }
  return json.value as Record<string, unknown>;
}

function turnOf(message: Exclude<ChatMessage, { role: 'system' | 'developer' }>, index: number): AnthropicMessage {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: userBlocks(message.content, index) };
    case 'tool':
      return { role: 'user', content: [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: contentText(message.content) }] };
    case 'assistant': {
      const blocks: AnthropicContentBlock[] = [];
      const text = contentText(message.content);
      if (text !== '') blocks.push({ type: 'text', text });
      (message.tool_calls ?? []).forEach((call, callIndex) => {
        blocks.push({
          type: 'tool_use',
          id: call.id,
          name: call.function.name,
          input: toolInput(call.function.arguments, `messages[${index}].tool_calls[${callIndex}].function.arguments`),
        });
      });
      return { role: 'assistant', content: blocks };
    }
  }
}

/** Converts the conversation; throws a 400 naming the field for what Anthropic cannot take. */
export function convertMessages(messages: readonly ChatMessage[]): ConvertedMessages {
  const systemParts: string[] = [];
  const turns: AnthropicMessage[] = [];
  messages.forEach((message, index) => {
    if (message.role === 'system' || message.role === 'developer') {
      const text = contentText(message.content);
      if (text !== '') systemParts.push(text);
      return;
    }
    const turn = turnOf(message, index);
    if (turn.content.length === 0) return; // nothing to say (e.g. an empty assistant turn)
    const previous = turns.at(-1);
    if (previous && previous.role === turn.role) previous.content.push(...turn.content);
    else turns.push(turn);
  });
  if (turns.length === 0) throw invalidRequest('anthropic needs at least one user or assistant message besides the system prompt.', 'messages');
  return { system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined, messages: turns };
}
