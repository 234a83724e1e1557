import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { createAnthropicEventEncoder } from './chat-events-to-anthropic.ts';
import { createMessageAccumulator } from './message-accumulator.ts';

const identity = { id: 'msg_abc', model: 'openai/gpt-4o' };

function encodeAll(events: ChatEvent[]): Array<{ type: string; [field: string]: unknown }> {
  const encoder = createAnthropicEventEncoder(identity);
  return [...encoder.start(), ...events.flatMap((event) => encoder.encode(event))];
}

describe('ChatEvents as Anthropic stream events', () => {
  it('closes the thinking block, with its signature_delta, before the text block starts', () => {
    const events = encodeAll([
      { type: 'reasoning-delta', text: 'Think' },
      { type: 'reasoning-delta', text: 'ing' },
      { type: 'text-delta', text: 'Answer' },
      { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } },
    ]);
    expect(events.map((event) => [event.type, event['index'] ?? '', (event['delta'] as { type?: string } | undefined)?.type ?? ''])).toEqual([
      ['message_start', '', ''],
      ['content_block_start', 0, ''],
      ['content_block_delta', 0, 'thinking_delta'],
      ['content_block_delta', 0, 'thinking_delta'],
      ['content_block_delta', 0, 'signature_delta'],
      ['content_block_stop', 0, ''],
      ['content_block_start', 1, ''],
      ['content_block_delta', 1, 'text_delta'],
      ['content_block_stop', 1, ''],
      ['message_delta', '', ''],
      ['message_stop', '', ''],
    ]);
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 10, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('keeps the backend’s tool ids and mints a stable one only when it gave none', () => {
    const events = encodeAll([
      { type: 'tool-call-delta', index: 0, id: 'call_A', name: 'first', arguments: '{"a":' },
      { type: 'tool-call-delta', index: 0, arguments: '1}' },
      { type: 'tool-call-delta', index: 1, name: 'second', arguments: '{}' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    const starts = events.filter((event) => event.type === 'content_block_start').map((event) => event['content_block']);
    expect(starts).toEqual([
      { type: 'tool_use', id: 'call_A', name: 'first', input: {} },
      { type: 'tool_use', id: 'toolu_abc_1', name: 'second', input: {} },
    ]);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('says tool_use when a backend called tools but finished with stop', () => {
    const events = encodeAll([{ type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', arguments: '{}' }, { type: 'finish', finishReason: 'stop' }]);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('ends a refusal with stop_reason refusal and the explanation as text', () => {
    const events = encodeAll([{ type: 'refusal-delta', text: 'I cannot help with that.' }, { type: 'finish', finishReason: 'stop' }]);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'refusal' }, usage: { input_tokens: 0, output_tokens: 0 } });
    expect(events.find((event) => event.type === 'content_block_delta')).toMatchObject({ delta: { type: 'text_delta', text: 'I cannot help with that.' } });
  });

  it('folds into the same Message the SDK would assemble, usage in Anthropic’s meaning', () => {
    const accumulator = createMessageAccumulator(identity);
    for (const event of encodeAll([
      { type: 'reasoning-delta', text: 'Hmm.' },
      { type: 'text-delta', text: 'Calling.' },
      { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' },
      { type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35, prompt_tokens_details: { cached_tokens: 20 } } },
    ])) {
      accumulator.add(event);
    }
    expect(accumulator.message()).toEqual({
      id: 'msg_abc',
      type: 'message',
      role: 'assistant',
      model: 'openai/gpt-4o',
      content: [
        { type: 'thinking', thinking: 'Hmm.', signature: '' },
        { type: 'text', text: 'Calling.' },
        { type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'x' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 20 },
    });
  });
});
