/**
 * A request queued inside the MLX worker (the worker serves one generation at a
 * time) keeps hearing `progress queued`, over the real worker script and the
 * mlx_lm test double, with the keep-alive on a fake clock.
 *
 * Why the double: the test needs a generation that holds the worker for as long as it says
 * (MLX_DOUBLE_TOKEN_DELAY_MS) while the fake clock runs; on the real mlx-lm the tiny model's
 * longest answer ends in under a second and cannot be made to last on demand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { FakeClock } from '../../../tests/unit/tunnel/fake-clock.ts';
import { chat, makeMlxHarness, textOf, type MlxHarness } from '../../../tests/unit/runners/mlx-harness.ts';

let harness: MlxHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('a request waiting in the MLX worker queue', () => {
  it('hears progress queued every 5 s until the worker is free, then its answer', async () => {
    const clock = new FakeClock();
    harness = makeMlxHarness({
      env: { MLX_DOUBLE_TOKEN_DELAY_MS: '20' },
      models: { endless: { double: { reply: 'tick tock', endless: true } } },
      runner: { sleep: clock.sleep },
    });
    // The first request holds the worker; it is not read on, so its keep-alive is not running.
    const first = new AbortController();
    const holding = harness.runner.generate(chat('endless', 'go'), { maxTokens: 100_000, stop: [] }, first.signal)[Symbol.asyncIterator]();
    for (let step = await holding.next(); !step.done && step.value.type !== 'text-delta'; step = await holding.next());

    const waiting = harness.runner.generate(chat('endless', 'next'), { maxTokens: 2, stop: [] }, new AbortController().signal)[Symbol.asyncIterator]();
    expect((await waiting.next()).value).toEqual({ type: 'progress', phase: 'queued', done: 1 });
    for (let beat = 0; beat < 3; beat += 1) {
      const next = waiting.next();
      await clock.whenPending(5_000);
      await clock.advance(5_000);
      expect((await next).value).toEqual({ type: 'progress', phase: 'queued', done: 1 });
    }

    first.abort(new Error('the first client went away'));
    void holding.return?.().catch(() => undefined);
    const rest: ChatEvent[] = [];
    for (let step = await waiting.next(); !step.done; step = await waiting.next()) rest.push(step.value);
    expect(rest.some((event) => event.type === 'progress' && event.phase === 'queued')).toBe(false);
    expect(textOf(rest)).toBe('tick tock');
    expect(rest.at(-1)).toMatchObject({ type: 'finish' });
  });
});
