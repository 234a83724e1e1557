import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { createResponseEncoder, type ResponsesEvent } from './response-event-encoder.ts';
import { responseShell } from './response-object.ts';

function encoderFor(key = 'abcdef0123456789') {
  const shell = responseShell({ input: 'hi', model: 'openai/gpt-4o' }, { id: `resp_${key}`, createdAt: 1_800_000_000, model: 'openai/gpt-4o' });
  return createResponseEncoder(shell, key);
}

function run(events: ChatEvent[]): { stream: ResponsesEvent[]; encoder: ReturnType<typeof encoderFor> } {
  const encoder = encoderFor();
  const stream = [...encoder.start(), ...events.flatMap((event) => encoder.encode(event)), ...encoder.complete()];
  return { stream, encoder };
}

/** Every item is added once before any event that names it and done once after all of them. */
function expectWellFormed(stream: ResponsesEvent[]): void {
  expect(stream.map((event) => event.sequence_number)).toEqual(stream.map((_, index) => index));
  const added = new Map<number, number>();
  const done = new Map<number, number>();
  stream.forEach((event, position) => {
    const index = event['output_index'];
    if (typeof index !== 'number') return;
    if (event.type === 'response.output_item.added') {
      expect(added.has(index)).toBe(false);
      added.set(index, position);
    } else {
      expect(added.get(index)).toBeLessThan(position);
      expect(done.has(index)).toBe(false);
      if (event.type === 'response.output_item.done') done.set(index, position);
    }
  });
  expect([...done.keys()].sort()).toEqual([...added.keys()].sort());
}

describe('the Responses event encoder', () => {
  it('opens reasoning, then a message with a text and a refusal part, then interleaved parallel calls, each closed once', () => {
    const { stream, encoder } = run([
      { type: 'progress', phase: 'load' },
      { type: 'reasoning-delta', text: 'Think' },
      { type: 'reasoning-delta', text: 'ing.' },
      { type: 'text-delta', text: 'I will ' },
      { type: 'refusal-delta', text: 'not.' },
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'one', arguments: '{"a"' },
      { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'two', arguments: '{}' },
      { type: 'tool-call-delta', index: 0, arguments: ':1}' },
      { type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 3, completion_tokens: 9, total_tokens: 12, completion_tokens_details: { reasoning_tokens: 2 } } },
    ]);
    expectWellFormed(stream);
    const response = encoder.response();
    expect(response.status).toBe('completed');
    expect(response.output).toEqual([
      { type: 'reasoning', id: 'rs_abcdef0123456789_0', status: 'completed', summary: [{ type: 'summary_text', text: 'Thinking.' }] },
      {
        type: 'message',
        id: 'msg_abcdef0123456789_1',
        status: 'completed',
        role: 'assistant',
        content: [
          { type: 'output_text', text: 'I will ', annotations: [], logprobs: [] },
          { type: 'refusal', refusal: 'not.' },
        ],
      },
      { type: 'function_call', id: 'fc_abcdef0123456789_2', status: 'completed', call_id: 'call_a', name: 'one', arguments: '{"a":1}' },
      { type: 'function_call', id: 'fc_abcdef0123456789_3', status: 'completed', call_id: 'call_b', name: 'two', arguments: '{}' },
    ]);
    expect(response.usage).toEqual({
      input_tokens: 3,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 12,
    });
    const refusal = stream.find((event) => event.type === 'response.refusal.delta');
    expect(refusal).toMatchObject({ item_id: 'msg_abcdef0123456789_1', output_index: 1, content_index: 1, delta: 'not.' });
    expect(stream.at(-1)?.type).toBe('response.completed');
  });

  it('a text after a tool call opens a new message item after it', () => {
    const { stream, encoder } = run([
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'one', arguments: '{}' },
      { type: 'text-delta', text: 'Done.' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    expectWellFormed(stream);
    expect(encoder.response().output.map((item) => item.type)).toEqual(['function_call', 'message']);
  });

  it.each([
    ['length', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
  ] as const)('a %s stop ends as response.incomplete with reason %s', (finishReason, reason) => {
    const { stream, encoder } = run([
      { type: 'text-delta', text: 'Cut' },
      { type: 'finish', finishReason },
    ]);
    expect(stream.at(-1)?.type).toBe('response.incomplete');
    expect(encoder.response()).toMatchObject({ status: 'incomplete', incomplete_details: { reason }, usage: null, output: [{ type: 'message', status: 'incomplete' }] });
  });

  it('a failure after content ends with error then response.failed, the open item left in progress', () => {
    const encoder = encoderFor();
    const stream = [...encoder.start(), ...encoder.encode({ type: 'text-delta', text: 'Half' }), ...encoder.fail({ code: 'upstream_stream_error', message: 'cut', param: null })];
    expect(stream.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
    expect(stream.at(-2)).toMatchObject({ code: 'upstream_stream_error', message: 'cut', param: null });
    expect(encoder.response()).toMatchObject({ status: 'failed', error: { code: 'upstream_stream_error', message: 'cut' }, output: [{ status: 'in_progress' }] });
  });

  it('events carry snapshots: a later delta does not change an event already sent', () => {
    const encoder = encoderFor();
    const [created] = encoder.start();
    encoder.encode({ type: 'text-delta', text: 'x' });
    expect((created?.['response'] as { output: unknown[] }).output).toEqual([]);
  });
});
