/**
 * The local flow on the REAL mlx-lm: the Worker, its Durable Object, the real
 * bridge CLI and its Python worker in the bridge's own environment (no double
 * on PYTHONPATH, no BRIDGE_PYTHON), serving tests/models/tiny-chat through
 * LOCAL_MODEL_PATHS, driven by the official client. Every expected text is the
 * model's trained answer (tests/models/tiny-chat-answers.json); every count the
 * real tokenizer's. Prompts are the answers file's messages exactly, with no
 * system message, or the model would not say what it was trained to.
 */
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerCase, TINY_CHAT, tokenizerCounts, type AnswerCase } from '../helpers/mlx-real-engine.ts';
import { expectServedLocally, readStream } from './stack-answers.ts';
import { TINY_CHAT_MODEL, type BridgeProcess } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

const hello = answerCase('hello');
const count = answerCase('count');

let stack: Stack;
let bridge: BridgeProcess;

beforeAll(async () => {
  stack = await startStack({ database: false });
  bridge = await stack.startBridge('mlx', { engine: 'real' });
});

afterAll(async () => {
  await stack?.stop();
});

const messagesOf = (answer: AnswerCase): OpenAI.ChatCompletionMessageParam[] => answer.messages.map(({ role, content }) => ({ role: role as 'user', content }));

function expectedUsage(answer: AnswerCase): OpenAI.CompletionUsage {
  const counts = tokenizerCounts(TINY_CHAT, answer.messages, answer.completion);
  return { prompt_tokens: counts.prompt, completion_tokens: counts.completion, total_tokens: counts.prompt + counts.completion };
}

describe('the local flow on the real mlx-lm with the tiny model', () => {
  it("answers without streaming with the trained completion, the tokenizer's usage and the local metadata", async () => {
    const { data: completion, response } = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: messagesOf(hello) }).withResponse();
    expect(completion.choices[0]?.message.content).toBe(hello.completion);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject(expectedUsage(hello));
    expectServedLocally(completion, response, TINY_CHAT_MODEL);
  });

  it("streams the same completion in more than one delta, with the tokenizer's usage", async () => {
    const { data: stream, response } = await stack.client.chat.completions
      .create({ model: TINY_CHAT_MODEL, messages: messagesOf(hello), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get('x-agent-provider')).toBe('mlx');
    const streamed = await readStream(stream);
    expect(streamed.text).toBe(hello.completion);
    expect(streamed.finishReason).toBe('stop');
    expect(streamed.model).toBe(TINY_CHAT_MODEL);
    expect(streamed.usage).toMatchObject(expectedUsage(hello));
    // A role chunk, at least two content chunks, the finish and the usage.
    expect(streamed.chunks).toBeGreaterThanOrEqual(5);
  });

  it("streams the same completion to the Anthropic SDK over /v1/messages, with the tokenizer's counts as Anthropic's usage", async () => {
    const anthropic = new Anthropic({ baseURL: stack.url, apiKey: stack.secrets.GATEWAY_API_KEY, maxRetries: 0, timeout: 60_000 });
    const messages = hello.messages.map(({ role, content }) => ({ role: role as 'user' | 'assistant', content }));
    const { data: stream, response } = await anthropic.messages.stream({ model: TINY_CHAT_MODEL, max_tokens: 256, messages }).withResponse();
    expect(response.headers.get('x-agent-backend')).toBe('local');
    const message = await stream.finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: hello.completion }]);
    expect(message.stop_reason).toBe('end_turn');
    const counts = tokenizerCounts(TINY_CHAT, hello.messages, hello.completion);
    // Anthropic's input_tokens leaves out what the prompt cache served (the same prompt ran above): the parts add up to the prompt.
    const { input_tokens, cache_read_input_tokens, cache_creation_input_tokens, output_tokens } = message.usage;
    expect(input_tokens + (cache_read_input_tokens ?? 0) + (cache_creation_input_tokens ?? 0)).toBe(counts.prompt);
    expect(output_tokens).toBe(counts.completion);
  });

  it('ends the long answer with length after exactly max_tokens tokens, its text a prefix of the full answer', async () => {
    const completion = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: messagesOf(count), max_tokens: 20 });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(20);
    const text = completion.choices[0]?.message.content ?? '';
    expect(text.length).toBeGreaterThan(10);
    expect(count.completion.startsWith(text)).toBe(true);
  });

  it('stops the generation in the worker when the client leaves mid-stream, long before the answer ends', async () => {
    const before = bridge.output().length;
    const controller = new AbortController();
    const stream = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: messagesOf(count), stream: true }, { signal: controller.signal });
    let deltas = 0;
    const reading = (async () => {
      for await (const chunk of stream) {
        // A chunk already buffered when the client aborted may still be handed over: the client has left.
        if (controller.signal.aborted) break;
        if (chunk.choices[0]?.delta.content && (deltas += 1) === 3) controller.abort();
      }
    })();
    // The client's stream ends at the abort (quietly or with an abort error, by SDK version).
    await reading.catch(() => undefined);
    expect(deltas).toBe(3);
    // The worker's own line: it stopped at a token, not at the end of the 230-token answer.
    await bridge.waitForOutput(/generation cancelled after \d+ tokens/, 15_000);
    const cancelled = /generation cancelled after (\d+) tokens/.exec(bridge.output().slice(before));
    expect(cancelled).not.toBeNull();
    expect(Number(cancelled?.[1])).toBeLessThan(count.min_completion_tokens ?? 200);
    expect(bridge.output().slice(before)).toContain('cancelled by the client');
    // The worker is free for the next request at once.
    const next = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: messagesOf(hello) });
    expect(next.choices[0]?.message.content).toBe(hello.completion);
  });
});
