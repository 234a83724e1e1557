import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { SseEvent } from '../../../protocol/sse.ts';
import { translateAnthropicStream } from './anthropic-stream.ts';
import { nativeAnthropicHeaders, withNativeFrames } from './anthropic-native.ts';

function frame(type: string, fields: Record<string, unknown> = {}): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...fields }), id: '' };
}

/** The frames pushed one at a time through the wrapped translator, as the stream reader does. */
function run(frames: SseEvent[]): ChatEvent[] {
  const events: ChatEvent[] = [];
  const translator = withNativeFrames(translateAnthropicStream)({ provider: 'anthropic', secrets: [], state: { sawContent: false } });
  for (const sse of frames) if (translator.push(sse, events)) break;
  return events;
}

const usage = { input_tokens: 5, output_tokens: 1 };
const serverToolAnswer = [
  frame('message_start', { message: { id: 'msg_1', usage } }),
  frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Searching.' } }),
  frame('content_block_stop', { index: 0 }),
  frame('content_block_start', { index: 1, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }),
  frame('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"query":"news"}' } }),
  frame('content_block_stop', { index: 1 }),
  frame('ping'),
  frame('ping'),
  frame('content_block_start', { index: 2, content_block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] } }),
  frame('content_block_stop', { index: 2 }),
  frame('content_block_start', { index: 3, content_block: { type: 'text', text: '' } }),
  frame('content_block_delta', { index: 3, delta: { type: 'text_delta', text: 'Found it.' } }),
  frame('content_block_stop', { index: 3 }),
  frame('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }),
  frame('message_stop'),
];

describe('native frames on the translated events', () => {
  it('forwards every frame once and in order, the first ones on the first content event', async () => {
    const events = run(serverToolAnswer);
    const forwarded = events.flatMap((event) => event.native ?? []);
    expect(forwarded).toEqual(serverToolAnswer.map(({ event, data }) => ({ event, data })));
    expect(events[0]).toMatchObject({ type: 'text-delta', text: 'Searching.' });
    expect(events[0]?.native?.map((sent) => sent.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(events.at(-1)?.type).toBe('finish');
  });

  it('sends a server tool’s blocks and Anthropic’s pings as they come, on events with no text of their own', async () => {
    const events = run(serverToolAnswer);
    const pings = events.filter((event) => event.native?.some((sent) => sent.event === 'ping'));
    expect(pings.length).toBeGreaterThan(0);
    for (const carrier of pings) expect(carrier).toMatchObject({ type: 'text-delta', text: '' });
    // The search result went out before the text that follows it was read.
    const result = events.findIndex((event) => event.native?.some((sent) => sent.data.includes('web_search_tool_result')));
    const found = events.findIndex((event) => event.type === 'text-delta' && event.text === 'Found it.');
    expect(result).toBeGreaterThan(0);
    expect(result).toBeLessThan(found);
    // Only the text counts as text.
    expect(events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('')).toBe('Searching.Found it.');
  });

  it('sends nothing alone before the first content event, so the chain may still fall back', async () => {
    const events = run([frame('message_start', { message: { id: 'msg_2', usage } }), frame('ping'), frame('ping'), ...serverToolAnswer.slice(1)]);
    expect(events[0]).toMatchObject({ type: 'text-delta', text: 'Searching.' });
    expect(events[0]?.native?.map((sent) => sent.event)).toEqual(['message_start', 'ping', 'ping', 'content_block_start', 'content_block_delta']);
  });
});

describe('the passthrough headers', () => {
  it('keep the client’s anthropic-version and join its betas with the configured ones', () => {
    const native = { format: 'anthropic-messages' as const, body: {}, headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'a-1, b-2' } };
    expect(nativeAnthropicHeaders(native, { 'Anthropic-Beta': 'b-2,c-3' })).toEqual({ 'anthropic-version': '2023-06-01', 'anthropic-beta': 'b-2,c-3,a-1' });
    expect(nativeAnthropicHeaders({ ...native, headers: {} }, {})).toEqual({ 'anthropic-version': '2023-06-01' });
  });
});
