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
import { answerCase, TINY_CHAT, tokenizerCounts, type AnswerCase, clientMessagesOf } from '../helpers/mlx-real-engine.ts';
import { expectServedLocally, readStream } from './stack-answers.ts';
import { TINY_CHAT_MODEL, type BridgeProcess } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

const hello = answerCase('hello');
const count = answerCase('count');
const toolCall = answerCase('tool-call');
const toolResult = answerCase('tool-result');
const thinking = answerCase('thinking');

let stack: Stack;
let bridge: BridgeProcess;

beforeAll(async () => {
  stack = await startStack({ database: false });
  bridge = await stack.startBridge('mlx', { engine: 'real' });
});

afterAll(async () => {
  await stack?.stop();
});

const toolsOf = (answer: AnswerCase): OpenAI.ChatCompletionTool[] => (answer.tools ?? []) as OpenAI.ChatCompletionTool[];

/** A streamed delta's reasoning (the gateway's `reasoning_content`, as the online providers send it). */
const reasoningOf = (delta: OpenAI.ChatCompletionChunk.Choice.Delta): string => (delta as { reasoning_content?: string }).reasoning_content ?? '';

function expectedUsage(answer: AnswerCase): OpenAI.CompletionUsage {
  const counts = tokenizerCounts(TINY_CHAT, answer.messages, answer.completion);
  return { prompt_tokens: counts.prompt, completion_tokens: counts.completion, total_tokens: counts.prompt + counts.completion };
}

describe('the local flow on the real mlx-lm with the tiny model', () => {
  it("answers without streaming with the trained completion, the tokenizer's usage and the local metadata", async () => {
    const { data: completion, response } = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello) }).withResponse();
    expect(completion.choices[0]?.message.content).toBe(hello.completion);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject(expectedUsage(hello));
    expectServedLocally(completion, response, TINY_CHAT_MODEL);
  });

  it("streams the same completion in more than one delta, with the tokenizer's usage", async () => {
    const { data: stream, response } = await stack.client.chat.completions
      .create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello), stream: true, stream_options: { include_usage: true } })
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
    const completion = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(count), max_tokens: 20 });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(20);
    const text = completion.choices[0]?.message.content ?? '';
    expect(text.length).toBeGreaterThan(10);
    expect(count.completion.startsWith(text)).toBe(true);
  });

  it('stops the generation in the worker when the client leaves mid-stream, long before the answer ends', async () => {
    const before = bridge.output().length;
    const controller = new AbortController();
    const stream = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(count), stream: true }, { signal: controller.signal });
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
    const next = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello) });
    expect(next.choices[0]?.message.content).toBe(hello.completion);
  });
});

describe('tools and reasoning through the tunnel on the real mlx-lm', () => {
  it("runs a tool loop two turns deep: the model's call as OpenAI tool_calls, then its answer from the tool's result", async () => {
    const tools = toolsOf(toolCall);
    const first = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(toolCall), tools });
    const choice = first.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content ?? null).toBeNull();
    const calls = choice?.message.tool_calls ?? [];
    expect(calls).toHaveLength(1);
    const call = calls[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe(toolCall.tool_call?.name);
    expect(JSON.parse(call.function.arguments)).toEqual(toolCall.tool_call?.arguments);
    const counts = tokenizerCounts(TINY_CHAT, toolCall.messages, toolCall.completion, { tools: toolCall.tools });
    expect(first.usage).toMatchObject({ prompt_tokens: counts.prompt, completion_tokens: counts.completion });

    // The second turn: the call as the client got it, then the tool's result (the trained one).
    const result = toolResult.messages.at(-1)?.content ?? '';
    const second = await stack.client.chat.completions.create({
      model: TINY_CHAT_MODEL,
      tools,
      messages: [
        ...clientMessagesOf(toolCall),
        { role: 'assistant', content: '', tool_calls: [{ id: call.id, type: 'function', function: { name: call.function.name, arguments: '{"city": "Paris"}' } }] },
        { role: 'tool', tool_call_id: call.id, content: result },
      ],
    });
    expect(second.choices[0]?.message.content).toBe(toolResult.completion);
    expect(second.choices[0]?.finish_reason).toBe('stop');
    // The second turn started from the first turn's KV cache: at least its whole prompt was reused.
    expect(second.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBeGreaterThanOrEqual(counts.prompt);
    expect(second.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBeLessThan(second.usage?.prompt_tokens ?? 0);
  });

  it('streams the tool call as tool_calls deltas (id, name, arguments) ending with finish_reason tool_calls', async () => {
    const stream = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(toolCall), tools: toolsOf(toolCall), stream: true });
    const streamed = await readStream(stream);
    expect(streamed.finishReason).toBe('tool_calls');
    expect(streamed.text).toBe('');
    expect(streamed.toolCalls).toHaveLength(1);
    expect(streamed.toolCalls[0]?.id).toMatch(/^call_/);
    expect(streamed.toolCalls[0]?.name).toBe(toolCall.tool_call?.name);
    expect(JSON.parse(streamed.toolCalls[0]?.arguments ?? '')).toEqual(toolCall.tool_call?.arguments);
  });

  it("honours tool_choice naming the function: the answer is that call, through the official client", async () => {
    const completion = await stack.client.chat.completions.create({
      model: TINY_CHAT_MODEL,
      messages: clientMessagesOf(toolCall),
      tools: toolsOf(toolCall),
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(toolCall.tool_call?.arguments);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('answers a logit_bias token outside the vocabulary with a 400 naming logit_bias, carried from the worker through the tunnel', async () => {
    await expect(
      stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello), logit_bias: { '999999': 5 } }),
    ).rejects.toMatchObject({ status: 400, param: 'logit_bias', type: 'invalid_request_error' });
  });

  it('streams the think block as reasoning_content before the answer, and counts reasoning_tokens', async () => {
    const stream = await stack.client.chat.completions.create({
      model: TINY_CHAT_MODEL,
      messages: clientMessagesOf(thinking),
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = '';
    let content = '';
    let reasoningChunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta;
      if (!delta) continue;
      if (reasoningOf(delta)) {
        expect(content).toBe(''); // all the reasoning comes first
        reasoning += reasoningOf(delta);
        reasoningChunks += 1;
      }
      content += delta.content ?? '';
    }
    expect(reasoning).toBe(thinking.reasoning);
    expect(reasoningChunks).toBeGreaterThan(1);
    expect(content).toBe(thinking.content);
    const block = thinking.completion.slice(0, thinking.completion.indexOf('</think>') + '</think>'.length);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(tokenizerCounts(TINY_CHAT, thinking.messages, block).completion - 1);
    expect(usage?.completion_tokens).toBe(expectedUsage(thinking).completion_tokens);
  });

  it("switches thinking off with reasoning_effort 'none' (non-streaming): the answer alone", async () => {
    const completion = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(thinking), reasoning_effort: 'none' });
    const message = completion.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.content).toBe(answerCase('thinking-off').completion);
    expect(message.reasoning_content).toBeUndefined();
  });
});

describe('sampling fields through the tunnel on the real mlx-lm', () => {
  it('answers the same seed with the same text at a high temperature, and reports logprobs in both shapes', async () => {
    const sampled = (seed: number) =>
      stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello), temperature: 2, seed, max_tokens: 16 });
    const first = (await sampled(11)).choices[0]?.message.content;
    expect((await sampled(11)).choices[0]?.message.content).toBe(first);

    const completion = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello), logprobs: true, top_logprobs: 2 });
    const content = completion.choices[0]?.logprobs?.content ?? [];
    expect(content.map((entry) => entry.token).join('')).toBe(hello.completion);
    expect(content.every((entry) => entry.top_logprobs.length === 2 && entry.logprob <= 0)).toBe(true);

    const stream = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello), logprobs: true, stream: true });
    const streamed: string[] = [];
    for await (const chunk of stream) for (const entry of chunk.choices[0]?.logprobs?.content ?? []) streamed.push(entry.token);
    expect(streamed.join('')).toBe(hello.completion);
  });
});

