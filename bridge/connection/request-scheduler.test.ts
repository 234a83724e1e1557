import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import type { OutgoingFrame } from '../../protocol/tunnel-frames.ts';
import { QUEUED_PROGRESS_EVERY_MS, RequestScheduler, type RequestFrame } from './request-scheduler.ts';

function requestFrame(id: string): RequestFrame {
  return { v: 1, t: 'req', id, op: 'chat.completions', model: 'tiny', body: { messages: [{ role: 'user', content: 'hi' }] }, deadlineMs: 600_000 };
}

/** A scheduler with one slot whose running requests end when the test says; every frame sent is recorded with its time. */
function oneSlot() {
  const frames: Array<{ at: number; frame: OutgoingFrame }> = [];
  const finishers = new Map<string, () => void>();
  const scheduler = new RequestScheduler({
    maxConcurrent: 1,
    maxQueue: 4,
    run: (frame) =>
      new Promise<void>((resolve) => {
        finishers.set(frame.id, resolve);
      }),
  });
  const send = (frame: OutgoingFrame): void => {
    frames.push({ at: Date.now(), frame });
  };
  const framesOf = (id: string) => frames.filter(({ frame }) => 'id' in frame && frame.id === id);
  const finish = async (id: string): Promise<void> => {
    finishers.get(id)?.();
    await vi.advanceTimersByTimeAsync(0);
  };
  return { scheduler, send, framesOf, finish };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('acknowledging a request', () => {
  it('acks a request it can start in the turn the req arrives, naming the runner, before the request runs', () => {
    const sent: OutgoingFrame[] = [];
    const ran: string[] = [];
    const scheduler = new RequestScheduler({
      maxConcurrent: 1,
      maxQueue: 1,
      runnerFor: () => 'mlx',
      run: async (frame) => {
        ran.push(frame.id);
      },
    });
    scheduler.submit(requestFrame('first'), (frame) => sent.push(frame));
    scheduler.submit(requestFrame('second'), (frame) => sent.push(frame));
    // Synchronously, with no timer or microtask run: the gateway hears of both at once.
    expect(sent).toEqual([
      { t: 'ack', id: 'first', state: 'running', runner: 'mlx' },
      { t: 'ack', id: 'second', state: 'queued', queuePos: 1, runner: 'mlx' },
    ]);
    expect(ran).toEqual([]);
  });

  it('answers at once, and logs why, when the handler cannot even pick a runner', () => {
    const sent: OutgoingFrame[] = [];
    const logs: string[] = [];
    const scheduler = new RequestScheduler({
      maxConcurrent: 1,
      maxQueue: 1,
      runnerFor: () => {
        throw new Error('registry exploded at /Users/me/private');
      },
      run: async () => undefined,
      log: (line) => logs.push(line),
    });
    scheduler.submit(requestFrame('cursed'), (frame) => sent.push(frame));
    expect(sent).toEqual([{ t: 'err', id: 'cursed', code: 'internal', message: 'The bridge failed to run the request', retryable: true }]);
    expect(logs.join('\n')).toContain('registry exploded');
  });
});

describe('a request waiting in the bridge queue', () => {
  it('hears progress queued with its place at least every 5 s, however long the wait', async () => {
    const { scheduler, send, framesOf } = oneSlot();
    scheduler.submit(requestFrame('running'), send);
    scheduler.submit(requestFrame('first'), send);
    scheduler.submit(requestFrame('second'), send);
    await vi.advanceTimersByTimeAsync(60_000);

    const second = framesOf('second');
    expect(second[0]?.frame).toEqual({ t: 'ack', id: 'second', state: 'queued', queuePos: 2 });
    expect(second.slice(1).map(({ frame }) => frame)).toEqual(
      Array.from({ length: 60_000 / QUEUED_PROGRESS_EVERY_MS }, () => ({ t: 'progress', id: 'second', phase: 'queued', done: 2 })),
    );
    const times = [0, ...second.map(({ at }) => at), 60_000];
    for (let index = 1; index < times.length; index++) expect(times[index]! - times[index - 1]!).toBeLessThanOrEqual(QUEUED_PROGRESS_EVERY_MS);
    expect(framesOf('running').map(({ frame }) => frame)).toEqual([{ t: 'ack', id: 'running', state: 'running' }]);
  });

  it('hears its new place once the queue moves, and no more keep-alives once it runs', async () => {
    const { scheduler, send, framesOf, finish } = oneSlot();
    scheduler.submit(requestFrame('running'), send);
    scheduler.submit(requestFrame('first'), send);
    scheduler.submit(requestFrame('second'), send);
    await vi.advanceTimersByTimeAsync(1_000);
    await finish('running');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(framesOf('first').map(({ frame }) => frame.t)).toEqual(['ack']);
    const places = framesOf('second').flatMap(({ frame }) => (frame.t === 'progress' ? [frame.done] : []));
    expect(places).toEqual(Array.from({ length: 6 }, () => 1));
  });

  it('hears nothing more after it was cancelled or refused', async () => {
    const { scheduler, send, framesOf } = oneSlot();
    scheduler.submit(requestFrame('running'), send);
    scheduler.submit(requestFrame('cancelled'), send);
    scheduler.submit(requestFrame('refused'), send);
    await vi.advanceTimersByTimeAsync(QUEUED_PROGRESS_EVERY_MS);
    scheduler.cancel('cancelled', tunnelError('cancelled', 'client left'));
    scheduler.failQueued(tunnelError('bridge_offline', 'shutting down'));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(framesOf('cancelled').map(({ frame }) => frame.t)).toEqual(['ack', 'progress', 'end']);
    expect(framesOf('refused').map(({ frame }) => frame.t)).toEqual(['ack', 'progress', 'err']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
