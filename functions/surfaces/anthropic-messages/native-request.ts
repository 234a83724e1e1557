/**
 * The client's Messages body as a native passthrough (protocol/native-passthrough.ts):
 * everything as it came except the gateway's routing fields and `model`
 * (each candidate sets its own), with the Anthropic headers the client sent.
 * One more exception: a thinking block a translated backend produced
 * earlier in the conversation carries no signature (chat-events-to-anthropic.ts),
 * which Anthropic would refuse; it is left out, as a chat backend leaves
 * every thinking block out.
 */
import type { GatewayError } from '../../../protocol/gateway-error.ts';
import type { NativeRequest } from '../../../protocol/native-passthrough.ts';
import { TRANSLATED_THINKING_SIGNATURE } from './chat-events-to-anthropic.ts';
import { ROUTING_FIELDS, type MessageParam } from './messages-request.ts';

/** The client headers that belong to Anthropic's API and travel with a passthrough. */
const ANTHROPIC_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

function isUnsignedThinking(block: { type: string; [field: string]: unknown }): boolean {
  return block.type === 'thinking' && block['signature'] === TRANSLATED_THINKING_SIGNATURE;
}

/** `messages` without the unsigned thinking blocks; the same array when there are none. */
function withoutUnsignedThinking(messages: readonly MessageParam[]): readonly MessageParam[] {
  const unsigned = messages.some((message) => message.role === 'assistant' && Array.isArray(message.content) && message.content.some(isUnsignedThinking));
  if (!unsigned) return messages;
  return messages.map((message) =>
    message.role === 'assistant' && Array.isArray(message.content) ? { ...message, content: message.content.filter((block) => !isUnsignedThinking(block)) } : message,
  );
}

/** The passthrough for `body`; `untranslatable` is what other backends must refuse. */
export function nativeMessagesRequest(
  body: Readonly<Record<string, unknown>> & { messages: readonly MessageParam[] },
  headers: Headers,
  untranslatable: GatewayError | undefined,
): NativeRequest {
  const forwarded: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    if (field !== 'model' && !(ROUTING_FIELDS as readonly string[]).includes(field)) forwarded[field] = value;
  }
  forwarded['messages'] = withoutUnsignedThinking(body.messages);
  const anthropicHeaders: Record<string, string> = {};
  for (const name of ANTHROPIC_HEADERS) {
    const value = headers.get(name);
    if (value !== null && value.trim() !== '') anthropicHeaders[name] = value.trim();
  }
  const native: NativeRequest = { format: 'anthropic-messages', body: forwarded, headers: anthropicHeaders };
  if (untranslatable) native.untranslatable = untranslatable;
  return native;
}
