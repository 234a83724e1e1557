import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeltaEvent } from '../../protocol/chat-events.ts';
import { COALESCE_WINDOW_MS, DeltaCoalescer } from './delta-coalescer.ts';

/** A coalescer on fake time whose frames are recorded. */
function coalescerOnFakeTime(options: { windowMs?: number; maxBatchChars?: number } = {}) {
  const frames: Array<{ at: number; events: DeltaEvent[] }> = [];
  const coalescer = new DeltaCoalescer({
    send: (events) => frames.push({ at: Date.now(), events: structuredClone(events) }),
    isBackedUp: () => false,
    now: () => Date.now(),
    ...options,
  });
  return { frames, coalescer };
}

/** One event-loop turn of fake time: the immediates queued so far run. */
const nextTurn = (): void => {
  vi.advanceTimersByTime(0);
};

const texts = (frames: Array<{ events: DeltaEvent[] }>): string =>
  frames.flatMap((frame) => frame.events).map((event) => (event.type === 'tool-call-delta' ? `[${event.index}:${event.arguments}]` : event.text)).join('');

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('delta coalescing over time', () => {
  it('sends the first delta of a request at the end of its turn, without waiting a window', () => {
    const { frames, coalescer } = coalescerOnFakeTime();
    coalescer.push({ type: 'text-delta', text: 'Hel' });
    expect(frames).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(frames).toEqual([{ at: 1_000, events: [{ type: 'text-delta', text: 'Hel' }] }]);
  });

  it('gathers deltas that arrive one per turn into one frame per window, losing nothing', () => {
    const { frames, coalescer } = coalescerOnFakeTime();
    const pieces = Array.from({ length: 4_000 }, (_, index) => `t${index} `);
    // A fast model: 200 tokens per millisecond, each in its own turn, for 20 ms.
    for (const [index, text] of pieces.entries()) {
      coalescer.push({ type: 'text-delta', text });
      nextTurn();
      if (index % 200 === 199) vi.advanceTimersByTime(1);
    }
    coalescer.flush();
    expect(texts(frames)).toBe(pieces.join(''));
    // The first delta alone, then one frame per window: 4 windows in 20 ms.
    expect(frames.map((frame) => frame.at)).toEqual([1_000, 1_005, 1_010, 1_015, 1_020]);
    // Each frame is one merged event: one frame becomes one SSE chunk at the gateway.
    for (const frame of frames) expect(frame.events).toHaveLength(1);
  });

  it('sends each token of a model slower than the window as soon as it comes', () => {
    const { frames, coalescer } = coalescerOnFakeTime();
    for (const text of ['one ', 'two ', 'three ']) {
      coalescer.push({ type: 'text-delta', text });
      vi.advanceTimersByTime(0);
      expect(frames.at(-1)?.events).toEqual([{ type: 'text-delta', text }]);
      vi.advanceTimersByTime(20);
    }
    expect(frames.map((frame) => frame.at)).toEqual([1_000, 1_020, 1_040]);
  });

  it('keeps tool-call pieces apart by index and in order, while merging the arguments of one call', () => {
    const { frames, coalescer } = coalescerOnFakeTime();
    coalescer.push({ type: 'text-delta', text: 'Let me look. ' });
    nextTurn();
    const later: DeltaEvent[] = [
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', arguments: '' },
      { type: 'tool-call-delta', index: 0, arguments: '{"city":' },
      { type: 'tool-call-delta', index: 0, arguments: '"Paris"}' },
      { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', arguments: '{"tz"' },
      { type: 'tool-call-delta', index: 1, arguments: ':"CET"}' },
    ];
    for (const event of later) {
      coalescer.push(event);
      nextTurn();
    }
    vi.advanceTimersByTime(COALESCE_WINDOW_MS);
    expect(frames.map((frame) => frame.events)).toEqual([
      [{ type: 'text-delta', text: 'Let me look. ' }],
      [
        { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', arguments: '{"tz":"CET"}' },
      ],
    ]);
  });

  it('sends a batch at once when it reaches the size limit, inside the window', () => {
    const { frames, coalescer } = coalescerOnFakeTime({ maxBatchChars: 8 });
    coalescer.push({ type: 'text-delta', text: 'ab' });
    vi.advanceTimersByTime(0);
    coalescer.push({ type: 'text-delta', text: 'cdefgh' });
    expect(frames).toHaveLength(1);
    coalescer.push({ type: 'text-delta', text: 'ij' });
    expect(frames.map((frame) => frame.events)).toEqual([[{ type: 'text-delta', text: 'ab' }], [{ type: 'text-delta', text: 'cdefghij' }]]);
  });

  it('sends nothing after dispose, even when a window was pending', () => {
    const { frames, coalescer } = coalescerOnFakeTime();
    coalescer.push({ type: 'text-delta', text: 'a' });
    vi.advanceTimersByTime(0);
    coalescer.push({ type: 'text-delta', text: 'b' });
    coalescer.dispose();
    vi.advanceTimersByTime(COALESCE_WINDOW_MS * 2);
    expect(texts(frames)).toBe('a');
  });
});
