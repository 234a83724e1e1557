/**
 * The MLX runner end to end below the tunnel: the real Node supervisor, the real
 * Python worker script, and the mlx_lm test double standing in for Apple's GPU.
 *
 * Why the double: the faults the real mlx-lm cannot show on demand: a worker killed mid-token
 * and a wedged one (MLX_DOUBLE_HANG_AFTER_TOKENS), a slow first load as a Hub download plays it
 * (MLX_DOUBLE_LOAD_DELAY_MS), a 3B model's memory against a small working set
 * (MLX_DOUBLE_WORKING_SET), library prints on stdout, a load that fails, and the exact arguments
 * reaching make_sampler/make_logits_processors (the double records them). What the real engine
 * can show is in mlx-runner-real.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerEvent, WorkerEventOf } from '../../../bridge/runners/mlx/worker-protocol.ts';
import { FakeClock } from '../tunnel/fake-clock.ts';
import { chat, collect, HUB_MODEL, makeMlxHarness, textOf, type MlxHarness } from './mlx-harness.ts';
import { failure } from '../../helpers/gateway-failure.ts';

const config = (maxTokens = 64, stop: string[] = []) => ({ maxTokens, stop });
const never = new AbortController().signal;

let harness: MlxHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function isEvent<E extends WorkerEvent['event']>(name: E, where: (event: WorkerEventOf<E>) => boolean = () => true) {
  return (event: WorkerEvent): event is WorkerEventOf<E> => event.event === name && where(event as WorkerEventOf<E>);
}


describe('MLX runner over the real worker', () => {
  it('loads a Hub model on first use, then streams its answer with usage and stats', async () => {
    harness = makeMlxHarness();
    const events = await collect(harness.runner.generate(chat(HUB_MODEL, 'hello big world'), config(), never));

    expect(textOf(events)).toBe('hello big world');
    const phases = events.filter((event) => event.type === 'progress').map((event) => event.phase);
    expect(phases[0]).toBe('load');
    expect(phases).toContain('prefill');
    const finish = events.at(-1);
    expect(finish?.type).toBe('finish');
    if (finish?.type !== 'finish') return;
    expect(finish.finishReason).toBe('stop');
    expect(finish.usage?.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(finish.usage?.total_tokens).toBe((finish.usage?.prompt_tokens ?? 0) + (finish.usage?.completion_tokens ?? 0));
    expect(finish.stats?.ttft_ms).toBeGreaterThanOrEqual(0);
    expect(finish.stats?.peak_memory_bytes).toBeGreaterThan(0);
    expect(await harness.runner.listModels()).toContainEqual(expect.objectContaining({ id: HUB_MODEL, state: 'loaded' }));
  });

  it('keeps the protocol clean although the library prints to stdout', async () => {
    harness = makeMlxHarness();
    const events = await collect(harness.runner.generate(chat(HUB_MODEL, 'one two three four five six'), config(), never));
    expect(textOf(events)).toBe('one two three four five six');
    expect(harness.logs.some((line) => line.includes('not a protocol event'))).toBe(false);
    // The double's chatter still reaches the log, through stderr.
    expect(harness.logs.some((line) => line.includes('mlx_lm double imported'))).toBe(true);
    expect(harness.logs.some((line) => line.includes('raw write to fd 1'))).toBe(true);
  });

  it('ends with length when max_tokens runs out', async () => {
    harness = makeMlxHarness();
    const events = await collect(harness.runner.generate(chat(HUB_MODEL, 'one two three four five'), config(2), never));
    expect(textOf(events)).toBe('one two');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length', usage: { completion_tokens: 2 } });
  });

  it('stops at a stop sequence inside a token without sending any of it', async () => {
    harness = makeMlxHarness();
    const events = await collect(harness.runner.generate(chat(HUB_MODEL, 'alpha beta gamma delta'), config(64, ['gam']), never));
    expect(textOf(events)).toBe('alpha beta ');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('stops at a stop sequence split across tokens and never leaks its first half', async () => {
    harness = makeMlxHarness();
    const events = await collect(harness.runner.generate(chat(HUB_MODEL, 'alpha beta gamma delta'), config(64, ['ta gam']), never));
    const deltas = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []));
    expect(deltas.join('')).toBe('alpha be');
    expect(deltas.some((text) => text.includes('ta'))).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('releases held-back text when the stop sequence does not follow', async () => {
    harness = makeMlxHarness();
    const events = await collect(harness.runner.generate(chat(HUB_MODEL, 'alpha beta gamma delta'), config(64, ['delta!', 'beta?']), never));
    expect(textOf(events)).toBe('alpha beta gamma delta');
  });

  it('passes every sampling parameter to make_sampler, make_logits_processors and the seed', async () => {
    harness = makeMlxHarness();
    const generation = {
      maxTokens: 16,
      stop: [],
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      minP: 0.05,
      repetitionPenalty: 1.1,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      seed: 42,
    };
    await collect(harness.runner.generate(chat(HUB_MODEL, 'hi'), generation, never));
    const calls = harness.calls();
    expect(calls.find((call) => call.call === 'make_sampler')).toMatchObject({ temp: 0.7, top_p: 0.9, top_k: 40, min_p: 0.05 });
    expect(calls.find((call) => call.call === 'make_logits_processors')).toMatchObject({
      repetition_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
    });
    expect(calls.find((call) => call.call === 'seed')).toMatchObject({ seed: 42 });
    expect(calls.find((call) => call.call === 'apply_chat_template')).toMatchObject({ add_generation_prompt: true });
  });

  it('stops generating at the next token when the request is cancelled', async () => {
    // Tokens 50 ms apart: far more than the time a cancel takes to reach the worker.
    harness = makeMlxHarness({
      env: { MLX_DOUBLE_TOKEN_DELAY_MS: '50' },
      models: { endless: { double: { reply: 'tick tock', endless: true } } },
    });
    const controller = new AbortController();
    const cancelled = harness.nextEvent(isEvent('done'));
    const seen: string[] = [];
    const run = (async () => {
      for await (const event of harness.runner.generate(chat('endless', 'go'), config(10_000), controller.signal)) {
        if (event.type === 'text-delta') seen.push(event.text);
        if (seen.length === 3) controller.abort(new Error('client went away'));
      }
    })();
    await expect(run).rejects.toThrow('client went away');
    const done = await cancelled;
    expect(done.finish_reason).toBe('cancelled');
    // The worker stopped within a token or two of the cancel, not at max_tokens.
    expect(done.usage.completion_tokens).toBeLessThanOrEqual(seen.length + 2);
    // And it is free for the next request at once.
    const next = await collect(harness.runner.generate(chat('endless', 'again'), config(2), never));
    expect(textOf(next)).toBe('tick tock');
  });

  it('keeps reporting load progress every 5 s while a slow first load (a Hub download) is under way', async () => {
    // The load takes a second of real time; the runner's 5 s keep-alive runs on a fake clock stepped meanwhile.
    const clock = new FakeClock();
    harness = makeMlxHarness({ env: { MLX_DOUBLE_LOAD_DELAY_MS: '1000' }, runner: { sleep: clock.sleep } });
    const iterator = harness.runner.generate(chat(HUB_MODEL, 'worth the wait'), config(), never)[Symbol.asyncIterator]();
    const events = [];
    let step = await iterator.next();
    while (!step.done && !(step.value.type === 'progress' && step.value.phase === 'load')) step = await iterator.next();
    expect(step.value).toEqual({ type: 'progress', phase: 'load', done: 0, total: 1 });

    for (let beat = 0; beat < 3; beat += 1) {
      const next = iterator.next();
      await clock.whenPending(5_000);
      await clock.advance(5_000);
      expect((await next).value).toEqual({ type: 'progress', phase: 'load', done: 0, total: 1 });
    }
    for (step = await iterator.next(); !step.done; step = await iterator.next()) events.push(step.value);
    expect(events[0]).toEqual({ type: 'progress', phase: 'load', done: 1, total: 1 });
    expect(textOf(events)).toBe('worth the wait');
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('answers an unknown model with model_not_found, as a 404', async () => {
    harness = makeMlxHarness();
    const error = await failure(collect(harness.runner.generate(chat('nobody/no-such-model', 'hi'), config(), never)));
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(error.message).toContain('nobody/no-such-model');
  });

  it('loads LOCAL_MODEL_PATHS entries from their folder, and reports a missing folder as model_not_found', async () => {
    harness = makeMlxHarness({ models: { 'my-model': { double: { reply: 'from my folder' } } } });
    const folder = harness.modelPaths['my-model'] ?? '';
    harness.modelPaths.ghost = `${folder}-missing`; // the runner reads this same table
    const events = await collect(harness.runner.generate(chat('my-model', 'hi'), config(), never));
    expect(textOf(events)).toBe('from my folder');
    expect(harness.calls().find((call) => call.call === 'load')).toMatchObject({ path_or_hf_repo: folder });
    const error = await failure(collect(harness.runner.generate(chat('ghost', 'hi'), config(), never)));
    expect(error.code).toBe('model_not_found');
  });

  it('reports a model that fails to load as load_failed and keeps serving others', async () => {
    harness = makeMlxHarness({ models: { broken: { double: { load_error: 'unsupported model type: mamba9' } } } });
    const error = await failure(harness.runner.load('broken'));
    expect(error).toMatchObject({ status: 502, code: 'load_failed' });
    expect(error.message).toContain('unsupported model type');
    expect(textOf(await collect(harness.runner.generate(chat(HUB_MODEL, 'still here'), config(), never)))).toBe('still here');
  });

  it('fails the in-flight request with runner_crashed when the worker is killed, and serves the next one', async () => {
    harness = makeMlxHarness({ env: { MLX_DOUBLE_TOKEN_DELAY_MS: '20' } });
    const seen: string[] = [];
    let firstPid: number | undefined;
    const run = (async () => {
      for await (const event of harness.runner.generate(chat(HUB_MODEL, 'a b c d e f g h i j k l m n o p'), config(), never)) {
        if (event.type !== 'text-delta') continue;
        seen.push(event.text);
        if (seen.length === 2) {
          firstPid = harness.runner.workerPid();
          if (firstPid === undefined) throw new Error('no MLX worker pid while it was streaming');
          process.kill(firstPid, 'SIGKILL');
        }
      }
    })();
    const error = await failure(run);
    expect(error).toMatchObject({ status: 502, code: 'runner_crashed', retryable: true });
    expect(seen.length).toBeLessThan(16);
    const next = await collect(harness.runner.generate(chat(HUB_MODEL, 'back again'), config(), never));
    expect(textOf(next)).toBe('back again');
    expect(harness.runner.workerPid()).toEqual(expect.any(Number));
    expect(harness.runner.workerPid()).not.toBe(firstPid);
  });

  it('restarts a wedged worker that stops making progress and fails its request with runner_crashed', async () => {
    harness = makeMlxHarness({ env: { MLX_DOUBLE_HANG_AFTER_TOKENS: '2' }, runner: { stallTimeoutMs: 500 } });
    const error = await failure(collect(harness.runner.generate(chat(HUB_MODEL, 'a b c d e f'), config(), never)));
    expect(error.code).toBe('runner_crashed');
    expect(error.message).toContain('no progress');
    await harness.runner.load(HUB_MODEL); // a fresh worker answers
    expect(harness.statuses.filter((status) => status.kind === 'worker-started')).toHaveLength(2);
  });

  it('unloads a model after the idle time and gives its memory back', async () => {
    harness = makeMlxHarness({ runner: { idleUnloadSec: 0.2 } });
    const unloaded = harness.nextEvent(isEvent('unloaded', (event) => event.reason === 'idle'));
    await collect(harness.runner.generate(chat(HUB_MODEL, 'hi'), config(), never));
    expect((await unloaded).model_ids).toEqual([HUB_MODEL]);
    expect(await harness.runner.listModels()).not.toContainEqual(expect.objectContaining({ state: 'loaded' }));
    expect(await harness.runner.memory()).toMatchObject({ activeBytes: 0, cacheBytes: 0 });
    expect(harness.calls().some((call) => call.call === 'clear_cache')).toBe(true);
  });

  it('unloads an idle model to make room, and refuses a model that can never fit with insufficient_memory', async () => {
    harness = makeMlxHarness({
      env: { MLX_DOUBLE_WORKING_SET: '1000' },
      models: { small: { weightBytes: 600 }, other: { weightBytes: 600 }, huge: { weightBytes: 5000 } },
    });
    await harness.runner.load('small');
    const evicted = harness.nextEvent(isEvent('unloaded', (event) => event.reason === 'memory'));
    await harness.runner.load('other');
    expect((await evicted).model_ids).toEqual(['small']);
    const error = await failure(harness.runner.load('huge'));
    expect(error).toMatchObject({ status: 503, code: 'insufficient_memory' });
    expect(error.message).toContain('recommended working set');
    expect(await harness.runner.listModels()).toEqual([
      { id: 'huge', state: 'available' },
      { id: 'other', state: 'loaded', bytes: 600 },
      { id: 'small', state: 'available' },
    ]);
  });

  it('reports a Python without mlx_lm as load_failed with what to do', async () => {
    harness = makeMlxHarness({ env: { PYTHONPATH: '' } });
    const error = await failure(harness.runner.load(HUB_MODEL));
    expect(error.code).toBe('load_failed');
    expect(error.message).toContain('cannot import mlx_lm');
    expect(error.message).toContain('doctor');
  });

  it('reports a missing Python interpreter as load_failed naming BRIDGE_PYTHON', async () => {
    harness = makeMlxHarness({ runner: { python: '/nonexistent/python3' } });
    const error = await failure(harness.runner.load(HUB_MODEL));
    expect(error.code).toBe('load_failed');
    expect(error.message).toContain('BRIDGE_PYTHON');
  });

  it('unloads everything and stops the worker on cleanup', async () => {
    harness = makeMlxHarness();
    await harness.runner.load(HUB_MODEL);
    const bye = harness.nextEvent(isEvent('bye'));
    await harness.runner.cleanup();
    await bye;
    expect(harness.runner.workerPid()).toBeUndefined();
    expect(harness.events).toContainEqual(expect.objectContaining({ event: 'unloaded', reason: 'shutdown', model_ids: [HUB_MODEL] }));
  });
});
