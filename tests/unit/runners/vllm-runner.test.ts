/**
 * The vLLM runner against a loopback server replaying recorded vLLM streams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { SERVED_MODELS_TTL_MS, VllmRunner } from '../../../bridge/runners/vllm/vllm-runner.ts';
import { startMockVllm, type MockVllm } from '../../helpers/mock-vllm.ts';

const MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
let vllm: MockVllm | undefined;
const logs: string[] = [];

afterEach(async () => {
  await vllm?.close();
  vllm = undefined;
  logs.length = 0;
});

function runnerFor(baseUrl: string, apiKey?: string): VllmRunner {
  return new VllmRunner({ baseUrl, apiKey, fetch: (input, init) => fetch(input, init), log: (line) => logs.push(line) });
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Say hello' }] };

describe('vLLM runner', () => {
  it('streams a chat completion as deltas and one finish with usage', async () => {
    vllm = await startMockVllm();
    const events = await collect(runnerFor(vllm.baseUrl).generate(request, { maxTokens: 64, stop: [] }, new AbortController().signal));
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: ' from' },
      { type: 'text-delta', text: ' vLLM' },
      { type: 'text-delta', text: '.' },
      { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 31, completion_tokens: 4, total_tokens: 35 } },
    ]);
  });

  it('sends the sampling settings under vLLM names, with the API key', async () => {
    vllm = await startMockVllm({ apiKey: 'vllm-secret' });
    const config = { maxTokens: 32, stop: ['END'], temperature: 0.3, topP: 0.8, topK: 20, minP: 0.1, repetitionPenalty: 1.2, seed: 7 };
    await collect(runnerFor(vllm.origin, 'vllm-secret').generate(request, config, new AbortController().signal));
    expect(vllm.requests[0]).toMatchObject({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32,
      stop: ['END'],
      temperature: 0.3,
      top_p: 0.8,
      top_k: 20,
      min_p: 0.1,
      repetition_penalty: 1.2,
      seed: 7,
    });
  });

  it("passes chat_template_kwargs through, as vLLM's own field for the chat template's variables", async () => {
    vllm = await startMockVllm();
    const withKwargs = { ...request, chat_template_kwargs: { enable_thinking: false } };
    await collect(runnerFor(vllm.baseUrl).generate(withKwargs, { maxTokens: 8, stop: [] }, new AbortController().signal));
    expect(vllm.requests[0]).toMatchObject({ chat_template_kwargs: { enable_thinking: false } });
  });

  it('passes tool calls through as tool-call deltas', async () => {
    vllm = await startMockVllm();
    vllm.script({ kind: 'stream', fixture: 'tool-call-stream.sse' });
    const events = await collect(runnerFor(vllm.baseUrl).generate(request, { maxTokens: 64, stop: [] }, new AbortController().signal));
    expect(events).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'chatcmpl-tool-3c9e', name: 'get_weather', arguments: '' },
      { type: 'tool-call-delta', index: 0, arguments: '{"city": "Paris"}' },
      { type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 120, completion_tokens: 19, total_tokens: 139 } },
    ]);
  });

  it('asks the server what it serves once per SERVED_MODELS_TTL_MS, not before every request, and again for a model not in the list', async () => {
    vllm = await startMockVllm();
    let now = 0;
    const runner = new VllmRunner({ baseUrl: vllm.baseUrl, fetch: (input, init) => fetch(input, init), log: (line) => logs.push(line), now: () => now });
    for (let index = 0; index < 3; index++) await collect(runner.generate(request, { maxTokens: 8, stop: [] }, new AbortController().signal));
    expect(vllm.modelListings()).toBe(1);
    await expect(runner.load('other/model')).rejects.toMatchObject({ code: 'model_not_found' });
    expect(vllm.modelListings()).toBe(2);
    now += SERVED_MODELS_TTL_MS;
    await collect(runner.generate(request, { maxTokens: 8, stop: [] }, new AbortController().signal));
    expect(vllm.modelListings()).toBe(3);
    expect(vllm.requests).toHaveLength(4);
  });

  it('lists the served model as loaded and reports health', async () => {
    vllm = await startMockVllm();
    const runner = runnerFor(vllm.baseUrl);
    expect(await runner.listModels()).toEqual([{ id: MODEL, state: 'loaded' }]);
    expect(await runner.health()).toBe(true);
    vllm.setHealthy(false);
    expect(await runner.health()).toBe(false);
    await expect(runner.load(MODEL)).resolves.toBeUndefined();
    await expect(runner.load('other/model')).rejects.toMatchObject({ code: 'model_not_found' });
  });

  it('refuses a model its server does not list, before sending the request, saying how to serve it', async () => {
    vllm = await startMockVllm();
    const other = { ...request, model: 'any-org/any-repo' };
    const error: unknown = await collect(runnerFor(vllm.baseUrl).generate(other, { maxTokens: 8, stop: [] }, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(String((error as Error).message)).toContain('vllm serve any-org/any-repo');
    expect(vllm.requests).toEqual([]);
  });

  it('maps a 404 from vLLM to model_not_found with vLLM’s message', async () => {
    vllm = await startMockVllm();
    vllm.script({ kind: 'status', status: 404, fixture: 'error-model-not-found.json' });
    const error: unknown = await collect(runnerFor(vllm.baseUrl).generate(request, { maxTokens: 8, stop: [] }, new AbortController().signal)).catch((e: unknown) => e);
    expect(GatewayError.isInstance(error) && error.code).toBe('model_not_found');
    expect(String((error as Error).message)).toContain('does not exist');
  });

  it('aborts the upstream request when the caller cancels mid-stream', async () => {
    vllm = await startMockVllm();
    vllm.script({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const run = (async () => {
      for await (const event of runnerFor(vllm.baseUrl).generate(request, { maxTokens: 8, stop: [] }, controller.signal)) {
        if (event.type === 'text-delta') controller.abort(new Error('client went away'));
      }
    })();
    await expect(run).rejects.toThrow('client went away');
    await vllm.clientAborted;
  });

  it('says the server is unreachable, and lists nothing, when vLLM is not running', async () => {
    const stopped = await startMockVllm();
    await stopped.close();
    const runner = runnerFor(stopped.baseUrl);
    expect(await runner.listModels()).toEqual([]);
    expect(logs.join('\n')).toContain('not reachable');
    const error: unknown = await collect(runner.generate(request, { maxTokens: 8, stop: [] }, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'runner_crashed', status: 502 });
  });
});
