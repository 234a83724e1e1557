import { afterEach, describe, expect, it, vi } from 'vitest';
import { BACKOFF_CAP_MS, RECONNECT_BACKOFF } from '../../../bridge/connection/backoff.ts';
import { fullJitterDelayMs } from '../../../protocol/time.ts';
import { bridgeConnectUrl } from '../../../bridge/connection/connect-url.ts';
import { BACKED_UP_RETRY_MS, DeltaCoalescer } from '../../../bridge/connection/delta-coalescer.ts';
import type { DeltaEvent } from '../../../protocol/chat-events.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('the connect URL', () => {
  it.each([
    ['http://127.0.0.1:8787', 'ws://127.0.0.1:8787/bridge/connect'],
    ['https://agents.example.workers.dev/', 'wss://agents.example.workers.dev/bridge/connect'],
    ['https://example.com/gateway', 'wss://example.com/gateway/bridge/connect'],
  ])('derives it from the gateway base URL %s', (base, expected) => {
    expect(bridgeConnectUrl(base)).toBe(expected);
  });

  it.each(['https://example.com/?token=abc', 'https://user:pass@example.com', 'ftp://example.com', 'not a url'])(
    'refuses %s',
    (base) => {
      expect(() => bridgeConnectUrl(base)).toThrow();
    },
  );
});

describe('reconnect backoff', () => {
  it('stays within [0, min(30 s, 0.5 s · 2^attempt))', () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(BACKOFF_CAP_MS, 500 * 2 ** attempt);
      expect(fullJitterDelayMs(attempt, RECONNECT_BACKOFF, () => 0)).toBe(0);
      expect(fullJitterDelayMs(attempt, RECONNECT_BACKOFF, () => 0.9999999)).toBe(ceiling - 1);
    }
  });

  it('spreads a fleet of bridges that dropped together', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const buckets = new Map<number, number>();
    for (let bridge = 0; bridge < 1000; bridge += 1) {
      const second = Math.floor(fullJitterDelayMs(5, RECONNECT_BACKOFF, random) / 1000);
      buckets.set(second, (buckets.get(second) ?? 0) + 1);
    }
    expect(Math.max(...buckets.values())).toBeLessThan(150);
  });
});

describe('delta coalescing', () => {
  it('sends events produced in one turn as one frame, merging neighbours losslessly', async () => {
    const frames: DeltaEvent[][] = [];
    const coalescer = new DeltaCoalescer({ send: (events) => frames.push(events), isBackedUp: () => false });
    coalescer.push({ type: 'text-delta', text: 'Hel' });
    coalescer.push({ type: 'text-delta', text: 'lo' });
    coalescer.push({ type: 'tool-call-delta', index: 0, id: 'c1', name: 'f', arguments: '{"a"' });
    coalescer.push({ type: 'tool-call-delta', index: 0, arguments: ':1}' });
    coalescer.push({ type: 'reasoning-delta', text: 'hm' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(frames).toEqual([
      [
        { type: 'text-delta', text: 'Hello' },
        { type: 'tool-call-delta', index: 0, id: 'c1', name: 'f', arguments: '{"a":1}' },
        { type: 'reasoning-delta', text: 'hm' },
      ],
    ]);
  });

  it('keeps merging while the socket is backed up and sends once it drains', () => {
    vi.useFakeTimers();
    const frames: DeltaEvent[][] = [];
    let backedUp = true;
    const coalescer = new DeltaCoalescer({ send: (events) => frames.push(events), isBackedUp: () => backedUp });
    for (let index = 0; index < 100; index += 1) {
      coalescer.push({ type: 'text-delta', text: `${index},` });
      vi.advanceTimersByTime(BACKED_UP_RETRY_MS);
    }
    expect(frames).toEqual([]);
    backedUp = false;
    vi.advanceTimersByTime(BACKED_UP_RETRY_MS);
    expect(frames).toEqual([[{ type: 'text-delta', text: Array.from({ length: 100 }, (_, index) => `${index},`).join('') }]]);
  });

  it('splits a huge piece so that no frame passes the size limit, without cutting a character in two', () => {
    const frames: DeltaEvent[][] = [];
    const coalescer = new DeltaCoalescer({ send: (events) => frames.push(events), isBackedUp: () => true, maxBatchChars: 10 });
    coalescer.push({ type: 'text-delta', text: '😀'.repeat(12) });
    coalescer.flush();
    const texts = frames.flat().map((event) => (event.type === 'text-delta' ? event.text : ''));
    expect(texts.join('')).toBe('😀'.repeat(12));
    for (const text of texts) {
      expect(text.length).toBeLessThanOrEqual(10);
      expect([...text].every((character) => character === '😀')).toBe(true);
    }
  });
});
