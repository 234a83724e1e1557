/**
 * A translated backend's ChatEvents as Anthropic's stream events, in the exact
 * sequence Anthropic sends: `message_start`, then one content block at a time
 * (`content_block_start`, its deltas, `content_block_stop`), then
 * `message_delta` (stop_reason and usage) and `message_stop`. Reasoning is a
 * thinking block, closed (with its `signature_delta`) before the text starts;
 * each tool call is a tool_use block whose id is the backend's own, so the
 * client's tool_result finds it on the next turn (an id is minted only when
 * the backend gave none). The stream response and the JSON Message are both
 * built from these events, so the two cannot disagree.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { anthropicStopReason, anthropicUsage, type AnthropicStreamEventOut } from './anthropic-message.ts';

export interface MessageIdentity {
  id: string;
  /** The full `provider/model` that serves. */
  model: string;
}

/**
 * The signature of a thinking block that a translated backend produced: not
 * Anthropic's, which cannot be forged; empty says so to anyone who looks.
 */
export const TRANSLATED_THINKING_SIGNATURE = '';

export interface AnthropicEventEncoder {
  /** `message_start` (usage still zero: a chat backend counts at the end). */
  start(): AnthropicStreamEventOut[];
  /** The events for one ChatEvent (none for progress). */
  encode(event: ChatEvent): AnthropicStreamEventOut[];
}

type OpenBlock = { kind: 'thinking' | 'text'; index: number } | { kind: 'tool'; index: number; toolIndex: number };

/** An encoder for one message. */
export function createAnthropicEventEncoder(identity: MessageIdentity): AnthropicEventEncoder {
  let open: OpenBlock | undefined;
  let nextIndex = 0;
  let refused = false;
  let calledTools = false;
  /** Tool index → its block index, so a late argument piece still lands on its own block. */
  const toolBlocks = new Map<number, number>();

  function close(out: AnthropicStreamEventOut[]): void {
    if (!open) return;
    if (open.kind === 'thinking') {
      out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'signature_delta', signature: TRANSLATED_THINKING_SIGNATURE } });
    }
    out.push({ type: 'content_block_stop', index: open.index });
    open = undefined;
  }

  function openBlock(out: AnthropicStreamEventOut[], block: OpenBlock, contentBlock: Record<string, unknown>): void {
    close(out);
    open = block;
    out.push({ type: 'content_block_start', index: block.index, content_block: contentBlock });
  }

  function textLike(kind: 'thinking' | 'text', text: string): AnthropicStreamEventOut[] {
    const out: AnthropicStreamEventOut[] = [];
    if (text === '') return out;
    if (open?.kind !== kind) {
      openBlock(out, { kind, index: nextIndex++ }, kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'text', text: '' });
    }
    const index = open?.index ?? 0;
    out.push({ type: 'content_block_delta', index, delta: kind === 'thinking' ? { type: 'thinking_delta', thinking: text } : { type: 'text_delta', text } });
    return out;
  }

  function toolCall(event: Extract<ChatEvent, { type: 'tool-call-delta' }>): AnthropicStreamEventOut[] {
    const out: AnthropicStreamEventOut[] = [];
    calledTools = true;
    let blockIndex = toolBlocks.get(event.index);
    if (blockIndex === undefined) {
      blockIndex = nextIndex++;
      toolBlocks.set(event.index, blockIndex);
      const id = event.id ?? `toolu_${identity.id.replace(/^msg_/, '')}_${event.index}`;
      openBlock(out, { kind: 'tool', index: blockIndex, toolIndex: event.index }, { type: 'tool_use', id, name: event.name ?? '', input: {} });
    }
    if (event.arguments !== '') out.push({ type: 'content_block_delta', index: blockIndex, delta: { type: 'input_json_delta', partial_json: event.arguments } });
    return out;
  }

  return {
    start: () => [
      {
        type: 'message_start',
        message: {
          id: identity.id,
          type: 'message',
          role: 'assistant',
          model: identity.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        },
      },
    ],
    encode(event) {
      switch (event.type) {
        case 'reasoning-delta':
          return textLike('thinking', event.text);
        case 'text-delta':
          return textLike('text', event.text);
        case 'refusal-delta':
          // Anthropic says why it refused in text, and ends with stop_reason `refusal`.
          refused = true;
          return textLike('text', event.text);
        case 'tool-call-delta':
          return toolCall(event);
        case 'progress':
          return [];
        case 'finish': {
          const out: AnthropicStreamEventOut[] = [];
          close(out);
          out.push({
            type: 'message_delta',
            // A backend that called tools but said `stop` (some local models do) ended its turn for them, as Anthropic's tool_use says.
            delta: { stop_reason: anthropicStopReason(calledTools && event.finishReason === 'stop' ? 'tool_calls' : event.finishReason, refused), stop_sequence: null },
            usage: anthropicUsage(event.usage),
          });
          out.push({ type: 'message_stop' });
          return out;
        }
      }
    },
  };
}
