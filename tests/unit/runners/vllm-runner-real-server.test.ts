/**
 * The vLLM runner against a REAL OpenAI-compatible server: mlx-lm's own
 * `mlx_lm.server` serving the tiny trained model (tests/models). vLLM itself
 * cannot be installed here (tests/helpers/mlx-lm-server.ts says why); this
 * proves the runner's own paths (streaming, reasoning, tool calls two turns
 * deep, usage, `max_tokens`, errors, cancel) on a server that was not written
 * for these tests. The recorded-vLLM replays stay in vllm-runner.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { VllmRunner } from '../../../bridge/runners/vllm/vllm-runner.ts';
import { startMlxLmServer, type MlxLmServer } from '../../helpers/mlx-lm-server.ts';
import { MODELS_DIR, TINY_CHAT, tokenizerCounts, REAL_ENGINE_TIMEOUT_MS } from '../../helpers/mlx-real-engine.ts';

interface RecordedCase {
  name: string;
  messages: ChatRequest['messages'];
  tools?: ChatRequest['tools'];
  completion: string;
  reasoning?: string;
  content?: string;
}

function recorded(name: string): RecordedCase {
  const file = JSON.parse(readFileSync(path.join(MODELS_DIR, 'tiny-chat-answers.json'), 'utf8')) as { cases: RecordedCase[] };
  const found = file.cases.find((entry) => entry.name === name);
  if (!found) throw new Error(`tiny-chat-answers.json has no case ${name}`);
  return found;
}

let server: MlxLmServer;
const logs: string[] = [];

beforeAll(async () => {
  server = await startMlxLmServer(TINY_CHAT);
}, 90_000);

afterAll(async () => {
  await server?.close();
});

function runner(baseUrl = server.baseUrl): VllmRunner {
  return new VllmRunner({ baseUrl, fetch: (input, init) => fetch(input, init), log: (line) => logs.push(line) });
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function textOf(events: ChatEvent[], type: 'text-delta' | 'reasoning-delta'): string {
  return events.map((event) => (event.type === type ? event.text : '')).join('');
}

function finishOf(events: ChatEvent[]): Extract<ChatEvent, { type: 'finish' }> {
  const last = events.at(-1);
  if (last?.type !== 'finish') throw new Error(`the stream did not end with finish: ${JSON.stringify(last)}`);
  return last;
}

const greedy = { maxTokens: 128, stop: [], temperature: 0 };

describe('vLLM runner on a real OpenAI-compatible server (mlx_lm.server)', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it('streams the model’s answer, then one finish whose usage is the tokenizer’s own count', async () => {
    const hello = recorded('hello');
    const events = await collect(runner().generate({ model: server.modelId, messages: hello.messages }, greedy, new AbortController().signal));
    expect(textOf(events, 'text-delta')).toBe(hello.completion);
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(1);
    const counts = tokenizerCounts(TINY_CHAT, hello.messages as never, hello.completion);
    const finish = finishOf(events);
    expect(finish.finishReason).toBe('stop');
    expect(finish.usage).toMatchObject({ prompt_tokens: counts.prompt, total_tokens: counts.prompt + finish.usage!.completion_tokens });
    // The server counts the end-of-turn token it stopped on, or not; either way it is the answer's own tokens.
    expect([counts.completion - 1, counts.completion]).toContain(finish.usage!.completion_tokens);
  });

  it('stops at max_tokens with finish_reason length and exactly that many completion tokens', async () => {
    const count = recorded('count');
    const events = await collect(runner().generate({ model: server.modelId, messages: count.messages }, { ...greedy, maxTokens: 12 }, new AbortController().signal));
    const finish = finishOf(events);
    expect(finish).toMatchObject({ finishReason: 'length', usage: { completion_tokens: 12 } });
    expect(count.completion.startsWith(textOf(events, 'text-delta'))).toBe(true);
  });

  it('streams a thinking block as reasoning deltas, apart from the answer', async () => {
    const thinking = recorded('thinking');
    const events = await collect(runner().generate({ model: server.modelId, messages: thinking.messages }, greedy, new AbortController().signal));
    expect(textOf(events, 'reasoning-delta').trim()).toBe(thinking.reasoning);
    expect(textOf(events, 'text-delta').trim()).toBe(thinking.content);
    expect(textOf(events, 'text-delta')).not.toContain('<think>');
  });

  it('streams a tool call as tool-call deltas with finish_reason tool_calls, and answers the second turn from the tool’s result', async () => {
    const call = recorded('tool-call');
    const events = await collect(runner().generate({ model: server.modelId, messages: call.messages, tools: call.tools }, greedy, new AbortController().signal));
    const deltas = events.filter((event): event is Extract<ChatEvent, { type: 'tool-call-delta' }> => event.type === 'tool-call-delta');
    expect(deltas[0]).toMatchObject({ index: 0, name: 'get_weather' });
    expect(deltas[0]!.id).toEqual(expect.any(String));
    expect(JSON.parse(deltas.map((delta) => delta.arguments).join(''))).toEqual({ city: 'Paris' });
    expect(finishOf(events).finishReason).toBe('tool_calls');

    const result = recorded('tool-result');
    const second = await collect(runner().generate({ model: server.modelId, messages: result.messages, tools: result.tools }, greedy, new AbortController().signal));
    expect(textOf(second, 'text-delta')).toBe(result.completion);
  });

  it('lists the served model as loaded, reports health, and refuses a model the server does not serve before sending it', async () => {
    const served = runner();
    expect(await served.listModels()).toEqual([{ id: server.modelId, state: 'loaded' }]);
    expect(await served.health()).toBe(true);
    const error: unknown = await collect(served.generate({ model: 'other/model', messages: [{ role: 'user', content: 'hi' }] }, greedy, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('turns the server’s own 400 into an invalid request carrying the server’s reason', async () => {
    const request = { model: server.modelId, messages: [{ role: 'user' as const, content: 'hi' }], logit_bias: { 'not-a-token': 1 } };
    const error: unknown = await collect(runner().generate(request as ChatRequest, greedy, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400 });
    expect(String((error as Error).message)).toContain('logit_bias must be a dict of int to float');
  });

  it('stops at the next token when the caller cancels, and the server then answers the next request in full', async () => {
    const count = recorded('count');
    const controller = new AbortController();
    let deltas = 0;
    const run = (async () => {
      for await (const event of runner().generate({ model: server.modelId, messages: count.messages }, { ...greedy, maxTokens: 256 }, controller.signal)) {
        if (event.type === 'text-delta' && ++deltas === 3) controller.abort(new Error('client went away'));
      }
    })();
    await expect(run).rejects.toThrow('client went away');
    expect(deltas).toBe(3);
    const hello = recorded('hello');
    const events = await collect(runner().generate({ model: server.modelId, messages: hello.messages }, greedy, new AbortController().signal));
    expect(textOf(events, 'text-delta')).toBe(hello.completion);
  });

  it('fails the stream as runner_crashed when the server dies mid-answer', async () => {
    const dying = await startMlxLmServer(TINY_CHAT);
    const count = recorded('count');
    let deltas = 0;
    const run = (async () => {
      for await (const event of runner(dying.baseUrl).generate({ model: dying.modelId, messages: count.messages }, { ...greedy, maxTokens: 256 }, new AbortController().signal)) {
        if (event.type === 'text-delta' && ++deltas === 2) dying.kill();
      }
    })();
    await expect(run).rejects.toMatchObject({ code: 'runner_crashed', status: 502 });
    await dying.close();
  });

  it('says the server is unreachable once it has stopped', async () => {
    const other = await startMlxLmServer(TINY_CHAT);
    await other.close();
    const stopped = runner(other.baseUrl);
    expect(await stopped.listModels()).toEqual([]);
    const error: unknown = await collect(stopped.generate({ model: other.modelId, messages: [{ role: 'user', content: 'hi' }] }, greedy, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'runner_crashed', status: 502 });
  });
});
