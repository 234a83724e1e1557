import { describe, expect, it } from 'vitest';
import type { DeltaEvent } from './chat-events.ts';
import { mergeDeltaEvents } from './merge-delta-events.ts';

describe('merging the deltas of one frame', () => {
  it('turns many small text pieces into one event with the same text', () => {
    const pieces = Array.from({ length: 500 }, (_, index) => `w${index} `);
    const merged = mergeDeltaEvents(pieces.map((text): DeltaEvent => ({ type: 'text-delta', text })));
    expect(merged).toEqual([{ type: 'text-delta', text: pieces.join('') }]);
  });

  it('keeps text, reasoning and tool calls in their order, and tool calls by index', () => {
    const frame: DeltaEvent[] = [
      { type: 'reasoning-delta', text: 'Need ' },
      { type: 'reasoning-delta', text: 'the weather.' },
      { type: 'text-delta', text: 'Checking' },
      { type: 'text-delta', text: '…' },
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', arguments: '{"city":' },
      { type: 'tool-call-delta', index: 0, arguments: '"Paris"}' },
      { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', arguments: '' },
      { type: 'tool-call-delta', index: 1, arguments: '{}' },
      { type: 'tool-call-delta', index: 0, arguments: ' ' },
      { type: 'text-delta', text: 'Done.' },
    ];
    expect(mergeDeltaEvents(frame)).toEqual([
      { type: 'reasoning-delta', text: 'Need the weather.' },
      { type: 'text-delta', text: 'Checking…' },
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', arguments: '{}' },
      // Back to call 0 after call 1: a piece of its own, so the order the client sees is the bridge's.
      { type: 'tool-call-delta', index: 0, arguments: ' ' },
      { type: 'text-delta', text: 'Done.' },
    ]);
  });

  it('merges refusal pieces with each other, never with text', () => {
    const frame: DeltaEvent[] = [
      { type: 'text-delta', text: 'Well.' },
      { type: 'refusal-delta', text: "I can't" },
      { type: 'refusal-delta', text: ' help.' },
    ];
    expect(mergeDeltaEvents(frame)).toEqual([
      { type: 'text-delta', text: 'Well.' },
      { type: 'refusal-delta', text: "I can't help." },
    ]);
  });

  it('never merges a piece that starts a new call, even at the same index', () => {
    const frame: DeltaEvent[] = [
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'f', arguments: '{}' },
      { type: 'tool-call-delta', index: 0, id: 'call_b', name: 'g', arguments: '{}' },
    ];
    expect(mergeDeltaEvents(frame)).toEqual(frame);
  });

  it('leaves the frame it was given as it was', () => {
    const frame: DeltaEvent[] = [
      { type: 'text-delta', text: 'a' },
      { type: 'text-delta', text: 'b' },
    ];
    const copy = structuredClone(frame);
    mergeDeltaEvents(frame);
    expect(frame).toEqual(copy);
  });

  it('keeps the token log probabilities of merged text, in order', () => {
    const token = (text: string) => ({ token: text, logprob: -1, bytes: null, top_logprobs: [] });
    const frame: DeltaEvent[] = [
      { type: 'text-delta', text: 'a', logprobs: [token('a')] },
      { type: 'text-delta', text: 'b', logprobs: [token('b')] },
    ];
    expect(mergeDeltaEvents(frame)).toEqual([{ type: 'text-delta', text: 'ab', logprobs: [token('a'), token('b')] }]);
    expect(frame[0]).toEqual({ type: 'text-delta', text: 'a', logprobs: [token('a')] });
  });
});
