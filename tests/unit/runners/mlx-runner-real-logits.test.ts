/**
 * The OpenAI fields that reach mlx-lm's logits on the REAL engine with the
 * tiny model: presence and frequency penalties and logit_bias
 * (make_logits_processors), and logprobs/top_logprobs read from mlx-lm's own
 * per-token log probabilities. Each test would fail if the field were dropped:
 * the trained greedy answers (tests/models/tiny-chat-answers.json) are what an
 * ignored field leaves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent, TokenLogprob } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { failure } from '../../helpers/gateway-failure.ts';
import { answerCase, TINY_CHAT, tokenIds, type AnswerCase, REAL_ENGINE_TIMEOUT_MS } from '../../helpers/mlx-real-engine.ts';
import { textOf, type MlxHarness } from './mlx-harness.ts';
import { askCase, realEngineHarnesses } from './mlx-real-harness.ts';

const hello = answerCase('hello');
const count = answerCase('count');
const thinking = answerCase('thinking');

const realHarness = realEngineHarnesses();
let harness: MlxHarness;
/** The tokenizer's ids of "!", of the first word of the trained greeting, and of the greeting. */
let bang = 0;
let firstWord = 0;
let helloTokens: number[] = [];
beforeAll(() => {
  [bang = 0] = tokenIds(TINY_CHAT, '!');
  [firstWord = 0] = tokenIds(TINY_CHAT, 'Hello');
  helloTokens = tokenIds(TINY_CHAT, hello.completion);
}, 30_000);

const ask = (answer: AnswerCase, extra: Partial<ChatRequest>, maxTokens: number): Promise<ChatEvent[]> => askCase(harness, answer, extra, maxTokens);

const logprobsOf = (events: ChatEvent[]): TokenLogprob[] => events.flatMap((event) => (event.type === 'text-delta' ? (event.logprobs ?? []) : []));

describe('penalties and logit_bias on the real mlx-lm', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it('applies presence_penalty and frequency_penalty: the trained long answer changes under either', async () => {
    harness = realHarness();
    expect(textOf(await ask(count, {}, 240))).toBe(count.completion);
    expect(textOf(await ask(count, { presence_penalty: 2 }, 240))).not.toBe(count.completion);
    const penalised = textOf(await ask(count, { frequency_penalty: 2 }, 30));
    expect(count.completion.startsWith(penalised)).toBe(false);
  }, 30_000);

  it('applies logit_bias by token id: +100 makes one token the only answer, -100 bans the first word', { timeout: 30_000 }, async () => {
    harness = realHarness();
    expect(textOf(await ask(hello, { logit_bias: { [String(bang)]: 100 } }, 6))).toBe('!!!!!!');
    const banned = textOf(await ask(hello, { logit_bias: { [String(firstWord)]: -100 } }, 12));
    expect(banned.startsWith('Hello')).toBe(false);
  });

  it("refuses a logit_bias token outside the model's vocabulary, naming logit_bias", async () => {
    harness = realHarness();
    const error = await failure(ask(hello, { logit_bias: { '999999': 5 } }, 4));
    expect(error).toMatchObject({ status: 400, param: 'logit_bias' });
    expect(error.message).toContain('vocabulary');
  });
});

describe('logprobs on the real mlx-lm', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it('reports one entry per answer token, whose tokens spell the answer, with the asked number of ranked alternatives', async () => {
    harness = realHarness();
    const events = await ask(hello, { logprobs: true, top_logprobs: 3 }, 64);
    expect(textOf(events)).toBe(hello.completion);
    const entries = logprobsOf(events);
    expect(entries.map((entry) => entry.token).join('')).toBe(hello.completion);
    expect(entries).toHaveLength(helloTokens.length);
    for (const entry of entries) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.bytes).toEqual([...Buffer.from(entry.token, 'utf8')]);
      expect(entry.top_logprobs).toHaveLength(3);
      // Greedy decoding picked the most likely token, and the alternatives come best first.
      expect(entry.top_logprobs[0]).toEqual({ token: entry.token, logprob: entry.logprob, bytes: entry.bytes });
      const ranked = entry.top_logprobs.map((top) => top.logprob);
      expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
    }
  });

  it('reports the answer tokens only, not the reasoning, and nothing unless asked', async () => {
    harness = realHarness();
    const events = await ask(thinking, { logprobs: true }, 64);
    const entries = logprobsOf(events);
    expect(entries.map((entry) => entry.token).join('')).toBe(thinking.content);
    expect(entries.every((entry) => entry.top_logprobs.length === 0)).toBe(true);
    expect(logprobsOf(await ask(hello, {}, 64))).toEqual([]);
  });

  it("refuses top_logprobs without logprobs, naming top_logprobs", async () => {
    harness = realHarness();
    expect(await failure(ask(hello, { top_logprobs: 2 }, 4))).toMatchObject({ status: 400, param: 'top_logprobs' });
  });
});
