/**
 * More of the MLX runner on the REAL mlx-lm (CPU backend here) with the tiny
 * model: sampler parameters reaching `make_sampler` and the seed reaching
 * `mx.random`, and an idle unload that gives the weights' memory back, read
 * from MLX's own active-memory figure as the worker reports it (on the CPU
 * backend `mx.get_active_memory` counts real allocations too; only Metal has a
 * recommended working set, so memory admission has no figure to check here:
 * mlx-runner.test.ts covers it with the double's working set).
 */
import { describe, expect, it } from 'vitest';
import type { WorkerEvent, WorkerEventOf } from '../../../bridge/runners/mlx/worker-protocol.ts';
import { answerCase, REAL_ENGINE_TIMEOUT_MS } from '../../helpers/mlx-real-engine.ts';
import { chat, collect, textOf, type MlxHarness } from './mlx-harness.ts';
import { realEngineHarnesses } from './mlx-real-harness.ts';

const never = new AbortController().signal;
const hello = answerCase('hello');
const prompt = hello.messages[0]?.content ?? '';
/** The weights file of tests/models/tiny-chat: what loading it must add to MLX's active memory, at least. */
const WEIGHT_BYTES = 700_000;

const open = realEngineHarnesses();
let harness: MlxHarness;
const realHarness = (idleUnloadSec = 600): MlxHarness => open({ idleUnloadSec });

const sampled = async (h: MlxHarness, temperature: number, seed?: number): Promise<string> =>
  textOf(await collect(h.runner.generate(chat('tiny-chat', prompt), { maxTokens: 24, stop: [], temperature, seed }, never)));

describe('sampling on the real mlx-lm', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it('is greedy at temperature 0, and at a high temperature the same seed gives the same text while the sampler really samples', async () => {
    harness = realHarness();
    expect(await sampled(harness, 0)).toBe(hello.completion);
    const first = await sampled(harness, 5, 7);
    expect(await sampled(harness, 5, 7)).toBe(first);
    // A temperature that never reached make_sampler would leave every seed on the greedy answer.
    const others: string[] = [];
    for (const seed of [1, 2]) others.push(await sampled(harness, 5, seed));
    expect([first, ...others].some((text) => text !== hello.completion)).toBe(true);
  }, 30_000);
});

describe('memory on the real mlx-lm', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it("gives the weights' memory back on an idle unload, by MLX's own active-memory figure", async () => {
    harness = realHarness(0.5);
    const unloaded = harness.nextEvent((event: WorkerEvent): event is WorkerEventOf<'unloaded'> => event.event === 'unloaded' && event.reason === 'idle');
    expect(await sampled(harness, 0)).toBe(hello.completion);
    const loaded = await harness.runner.memory();
    expect(loaded.activeBytes).toBeGreaterThan(WEIGHT_BYTES);
    expect((await unloaded).model_ids).toEqual(['tiny-chat']);
    const after = await harness.runner.memory();
    expect(after.activeBytes ?? Number.NaN).toBeLessThan((loaded.activeBytes ?? 0) - WEIGHT_BYTES);
    expect(after.cacheBytes).toBe(0);
  }, 30_000);
});
