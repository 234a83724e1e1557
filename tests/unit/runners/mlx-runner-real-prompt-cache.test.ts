/**
 * Prompt-cache reuse on the REAL mlx-lm with the tiny model: the next turn of a
 * conversation starts from the KV cache the previous turn left (mlx-lm's
 * LRUPromptCache), says how much it reused in
 * `usage.prompt_tokens_details.cached_tokens`, still gives the trained answer,
 * and loses the cache with the model on an unload.
 */
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { WorkerEvent, WorkerEventOf } from '../../../bridge/runners/mlx/worker-protocol.ts';
import { answerCase, TINY_CHAT, tokenizerCounts, type AnswerCase, REAL_ENGINE_TIMEOUT_MS } from '../../helpers/mlx-real-engine.ts';
import { textOf, type MlxHarness } from './mlx-harness.ts';
import { askCase, finishOf, realEngineHarnesses } from './mlx-real-harness.ts';

const hello = answerCase('hello');
const toolCall = answerCase('tool-call');
const toolResult = answerCase('tool-result');

const open = realEngineHarnesses();
let harness: MlxHarness;

const ask = (answer: AnswerCase): Promise<ChatEvent[]> => askCase(harness, answer);
const usageOf = (events: ChatEvent[]) => finishOf(events).usage;

describe('prompt-cache reuse on the real mlx-lm', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it("reuses the first turn's cache for the second turn of a tool loop, and still answers as trained", async () => {
    harness = open();
    const first = await ask(toolCall);
    expect(usageOf(first)?.prompt_tokens_details).toBeUndefined();
    const second = await ask(toolResult);
    expect(textOf(second)).toBe(toolResult.completion);
    const turnOne = tokenizerCounts(TINY_CHAT, toolCall.messages, toolCall.completion, { tools: toolCall.tools }).prompt;
    const usage = usageOf(second);
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
    // At least the whole first prompt (the call the model wrote renders back the same way), never all of the second.
    expect(cached).toBeGreaterThanOrEqual(turnOne);
    expect(cached).toBeLessThan(usage?.prompt_tokens ?? 0);
    expect(usage?.prompt_tokens).toBe(tokenizerCounts(TINY_CHAT, toolResult.messages, toolResult.completion, { tools: toolResult.tools }).prompt);
  }, 30_000);

  it('reuses all but the last token of a repeated prompt, with the same answer', async () => {
    harness = open();
    expect(textOf(await ask(hello))).toBe(hello.completion);
    const again = await ask(hello);
    expect(textOf(again)).toBe(hello.completion);
    const usage = usageOf(again);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe((usage?.prompt_tokens ?? 0) - 1);
  });

  it('keeps no prompt cache when told to keep none (BRIDGE_PROMPT_CACHE_ENTRIES=0): a repeated prompt starts cold', async () => {
    harness = open({ promptCacheEntries: 0 });
    expect(textOf(await ask(hello))).toBe(hello.completion);
    const again = await ask(hello);
    expect(textOf(again)).toBe(hello.completion);
    expect(usageOf(again)?.prompt_tokens_details).toBeUndefined();
  });

  it('drops the cache with the model on an idle unload: the next request starts cold', async () => {
    harness = open({ idleUnloadSec: 0.5 });
    const unloaded = harness.nextEvent((event: WorkerEvent): event is WorkerEventOf<'unloaded'> => event.event === 'unloaded' && event.reason === 'idle');
    await ask(hello);
    await unloaded;
    const cold = await ask(hello);
    expect(textOf(cold)).toBe(hello.completion);
    expect(usageOf(cold)?.prompt_tokens_details).toBeUndefined();
  });
});
