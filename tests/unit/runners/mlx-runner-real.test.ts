/**
 * The MLX runner and the real Python worker on the REAL mlx-lm (the bridge's
 * own environment, CPU backend here, Metal on a Mac) serving the tiny trained
 * model from tests/models through LOCAL_MODEL_PATHS. Every expected text comes
 * from tests/models/tiny-chat-answers.json; every count from the real tokenizer.
 * Nothing here uses the tests/mlx_lm double (PYTHONPATH is empty).
 */
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { WorkerEvent, WorkerEventOf } from '../../../bridge/runners/mlx/worker-protocol.ts';
import { failure } from '../../helpers/gateway-failure.ts';
import { chat, collect, textOf, type MlxHarness } from './mlx-harness.ts';
import { realEngineHarnesses } from './mlx-real-harness.ts';
import { answerCase, TINY_CHAT, tokenizerCounts, REAL_ENGINE_TIMEOUT_MS } from '../../helpers/mlx-real-engine.ts';

const never = new AbortController().signal;
const hello = answerCase('hello');
const count = answerCase('count');

const realHarness = realEngineHarnesses();
let harness: MlxHarness;

function finishOf(events: ChatEvent[]) {
  const finish = events.at(-1);
  if (finish?.type !== 'finish') throw new Error(`the stream ended without a finish: ${JSON.stringify(finish)}`);
  return finish;
}

function isEvent<E extends WorkerEvent['event']>(name: E) {
  return (event: WorkerEvent): event is WorkerEventOf<E> => event.event === name;
}

describe('MLX runner on the real mlx-lm with the tiny model', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it('loads the model from its folder, renders its chat template and streams the exact answer, in more than one delta', async () => {
    harness = realHarness();
    const ready = harness.nextEvent(isEvent('ready'));
    const events = await collect(harness.runner.generate(chat('tiny-chat', hello.messages[0]?.content ?? ''), { maxTokens: 64, stop: [] }, never));
    expect(textOf(events)).toBe(hello.completion);
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(1);
    expect(finishOf(events).finishReason).toBe('stop');
    const worker = await ready;
    expect(worker.mlx_lm_version).toMatch(/^0\.32\./);
    // Only Metal has a recommended working set; on the CPU backend the worker reports none instead of failing.
    if (process.platform === 'darwin') expect(worker.recommended_working_set_bytes).toBeGreaterThan(0);
    else expect(worker.recommended_working_set_bytes ?? null).toBeNull();
  });

  it('serves the 4-bit copy with the same answer', async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(chat('tiny-chat-4bit', hello.messages[0]?.content ?? ''), { maxTokens: 64, stop: [] }, never));
    expect(textOf(events)).toBe(hello.completion);
  });

  it("reports usage equal to the tokenizer's own counts of the prompt and the answer", async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(chat('tiny-chat', hello.messages[0]?.content ?? ''), { maxTokens: 64, stop: [] }, never));
    const expected = tokenizerCounts(TINY_CHAT, hello.messages, hello.completion);
    expect(finishOf(events).usage).toEqual({ prompt_tokens: expected.prompt, completion_tokens: expected.completion, total_tokens: expected.prompt + expected.completion });
  });

  it('ends with length after exactly max_tokens tokens of the long answer, its text a prefix of the full one', async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(chat('tiny-chat', count.messages[0]?.content ?? ''), { maxTokens: 20, stop: [] }, never));
    const finish = finishOf(events);
    expect(finish.finishReason).toBe('length');
    expect(finish.usage?.completion_tokens).toBe(20);
    const text = textOf(events);
    expect(text.length).toBeGreaterThan(10);
    expect(count.completion.startsWith(text)).toBe(true);
  });

  it('stops at a stop string that spans tokens (digits are one token each) without sending any of it', async () => {
    harness = realHarness();
    // "13, 14": "1", "3", ",", " ", "1", "4" are separate tokens.
    const events = await collect(harness.runner.generate(chat('tiny-chat', count.messages[0]?.content ?? ''), { maxTokens: 400, stop: ['13, 14'] }, never));
    const deltas = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []));
    expect(deltas.join('')).toBe(count.completion.slice(0, count.completion.indexOf('13, 14')));
    expect(finishOf(events).finishReason).toBe('stop');
  });

  it('stops generating at the next token when the request is cancelled', async () => {
    harness = realHarness();
    const controller = new AbortController();
    const done = harness.nextEvent(isEvent('done'));
    let deltas = 0;
    const run = (async () => {
      for await (const event of harness.runner.generate(chat('tiny-chat', count.messages[0]?.content ?? ''), { maxTokens: 400, stop: [] }, controller.signal)) {
        if (event.type === 'text-delta' && (deltas += 1) === 5) controller.abort(new Error('client went away'));
      }
    })();
    await expect(run).rejects.toThrow('client went away');
    const finished = await done;
    expect(finished.finish_reason).toBe('cancelled');
    // A few tokens pass while the cancel crosses stdio (~3 ms a token here; 8 seen after 5 deltas);
    // a cancel that waited for the end would show all 230.
    expect(finished.usage.completion_tokens).toBeLessThan(deltas + 40);
    // The worker is free for the next request at once.
    expect(textOf(await collect(harness.runner.generate(chat('tiny-chat', hello.messages[0]?.content ?? ''), { maxTokens: 64, stop: [] }, never)))).toBe(hello.completion);
  });

  it('answers a LOCAL_MODEL_PATHS entry whose folder is missing with model_not_found, and keeps serving', async () => {
    harness = realHarness({ modelPaths: { ghost: `${TINY_CHAT}-missing`, 'tiny-chat': TINY_CHAT } });
    const error = await failure(collect(harness.runner.generate(chat('ghost', 'hi'), { maxTokens: 8, stop: [] }, never)));
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(textOf(await collect(harness.runner.generate(chat('tiny-chat', hello.messages[0]?.content ?? ''), { maxTokens: 64, stop: [] }, never)))).toBe(hello.completion);
  });
});
