/**
 * The provider adapters against the loopback mock providers over real HTTP:
 * the same bytes, sockets and aborts the Worker sees in production.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { upstreamChatRequestSchema, type UpstreamChatRequest } from '../../../protocol/chat-request.ts';
import { defaultRuntimeDeps } from '../../../protocol/runtime-deps.ts';
import type { ProviderConfig } from '../../../functions/config.ts';
import { providerAdapters } from '../../../functions/providers/index.ts';
import type { OnlineProvider } from '../../../protocol/model-name.ts';
import { startMockProvider, type MockProvider } from '../../helpers/mock-provider.ts';
import { failure } from '../../helpers/gateway-failure.ts';

const KEY = 'sk-loopback-test-key-0001';
const mocks = {} as Record<'openai' | 'anthropic' | 'groq', MockProvider>;

beforeAll(async () => {
  mocks.openai = await startMockProvider({ flavor: 'openai', apiKey: KEY });
  mocks.anthropic = await startMockProvider({ flavor: 'anthropic', apiKey: KEY, models: ['claude-a', 'claude-b'] });
  mocks.groq = await startMockProvider({ flavor: 'groq', apiKey: KEY });
});
afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
});
beforeEach(() => {
  for (const mock of Object.values(mocks)) mock.reset();
});

function modelFor(provider: 'openai' | 'anthropic' | 'groq', apiKey = KEY) {
  const config: ProviderConfig = { provider: provider satisfies OnlineProvider, apiKey, baseUrl: mocks[provider].baseUrl, headers: {}, timeoutMs: 10_000, models: undefined, secrets: [apiKey] };
  return { config, model: providerAdapters[provider].createModel(config, 'mock-model', defaultRuntimeDeps) };
}

function request(body: Record<string, unknown> = {}): UpstreamChatRequest {
  // Each provider's model sends its own name; the request's is the agent's copy of it.
  return upstreamChatRequestSchema.parse({ model: 'upstream-model', messages: [{ role: 'user', content: 'Hello' }], ...body });
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}


const textOf = (events: ChatEvent[]): string => events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');

describe('providers over loopback', () => {
  it('streams an OpenAI answer end to end with its usage', async () => {
    mocks.openai.script([{ kind: 'reply', content: 'Paris is the capital.', usage: { prompt_tokens: 12, completion_tokens: 5, cached_tokens: 4 } }]);
    const events = await collect(modelFor('openai').model.stream({ request: request(), signal: new AbortController().signal }));
    expect(textOf(events)).toBe('Paris is the capital.');
    expect(events.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(mocks.openai.calls()[0]?.body).toMatchObject({ model: 'mock-model', stream: true, stream_options: { include_usage: true } });
  });

  it('streams an Anthropic answer with a tool call end to end', async () => {
    mocks.anthropic.script([{ kind: 'reply', content: 'Checking.', toolCalls: [{ id: 'toolu_9', name: 'weather', arguments: '{"city":"Oslo"}' }] }]);
    const events = await collect(modelFor('anthropic').model.stream({ request: request({ max_tokens: 50 }), signal: new AbortController().signal }));
    expect(textOf(events)).toBe('Checking.');
    const argumentsText = events.map((event) => (event.type === 'tool-call-delta' ? event.arguments : '')).join('');
    expect(JSON.parse(argumentsText)).toEqual({ city: 'Oslo' });
    expect(events.find((event) => event.type === 'tool-call-delta')).toMatchObject({ index: 0, id: 'toolu_9', name: 'weather' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
    expect(mocks.anthropic.calls()[0]?.body).toMatchObject({ max_tokens: 50, stream: true });
  });

  it("streams a Groq answer with x_groq's usage", async () => {
    mocks.groq.script([{ kind: 'reply', content: 'Quick.', usage: { prompt_tokens: 3, completion_tokens: 1 } }]);
    const events = await collect(modelFor('groq').model.stream({ request: request(), signal: new AbortController().signal }));
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
  });

  it('aborting the signal mid-stream aborts the upstream request, which the provider sees', async () => {
    mocks.openai.script([{ kind: 'stream', deltas: ['one', ' two', ' three'], stallAfter: 1 }]);
    const controller = new AbortController();
    const reason = new Error('client disconnected');
    const iterator = modelFor('openai').model.stream({ request: request(), signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: 'text-delta', text: 'one' });
    const next = iterator.next();
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    const calls = await mocks.openai.waitForCalls({ aborted: 1 });
    expect(calls[0]?.aborted).toBe(true);
  });

  it('aborting while the provider has not answered yet aborts the upstream request too', async () => {
    mocks.anthropic.script([{ kind: 'stall' }]);
    const controller = new AbortController();
    const pending = collect(modelFor('anthropic').model.stream({ request: request(), signal: controller.signal }));
    await mocks.anthropic.waitForCalls({ count: 1 });
    controller.abort(new Error('deadline'));
    await expect(pending).rejects.toThrow('deadline');
    expect((await mocks.anthropic.waitForCalls({ aborted: 1 }))[0]?.aborted).toBe(true);
  });

  it('reports a stream cut after the first delta as a non-retryable stream error', async () => {
    mocks.openai.script([{ kind: 'stream', deltas: ['partial', ' answer'], cutAfter: 1 }]);
    const error = await failure(collect(modelFor('openai').model.stream({ request: request(), signal: new AbortController().signal })));
    expect(error).toMatchObject({ status: 502, code: 'upstream_stream_error', retryable: false });
  });

  it('reports a hang-up before any response as a retryable 502', async () => {
    mocks.groq.script([{ kind: 'hangup' }]);
    const error = await failure(collect(modelFor('groq').model.stream({ request: request(), signal: new AbortController().signal })));
    expect(error).toMatchObject({ status: 502, code: 'upstream_unreachable', retryable: true });
  });

  it("classifies Anthropic's 529 and a 429 with Retry-After from the wire", async () => {
    mocks.anthropic.script([{ kind: 'status', status: 529 }]);
    const overloaded = await failure(collect(modelFor('anthropic').model.stream({ request: request(), signal: new AbortController().signal })));
    expect(overloaded).toMatchObject({ status: 529, code: 'overloaded', retryable: true });
    mocks.openai.script([{ kind: 'status', status: 429, headers: { 'retry-after': '2' } }]);
    const limited = await failure(collect(modelFor('openai').model.stream({ request: request(), signal: new AbortController().signal })));
    expect(limited).toMatchObject({ status: 429, code: 'rate_limited', retryable: true, retryAfterMs: 2000 });
  });

  it('a wrong key is neither retryable nor the caller’s fault, and the key never shows', async () => {
    const wrongKey = 'sk-wrong-key-000000000';
    const error = await failure(collect(modelFor('openai', wrongKey).model.stream({ request: request(), signal: new AbortController().signal })));
    expect(error).toMatchObject({ status: 401, code: 'upstream_auth_failed', retryable: false, callerFault: false });
    expect(error.message).not.toContain(wrongKey);
  });

  it("lists the models each provider's endpoint reports", async () => {
    const { config } = modelFor('anthropic');
    expect(await providerAdapters.anthropic.listModels(config, defaultRuntimeDeps, new AbortController().signal)).toEqual(['claude-a', 'claude-b']);
    const openai = modelFor('openai').config;
    expect(await providerAdapters.openai.listModels(openai, defaultRuntimeDeps, new AbortController().signal)).toEqual(['gpt-4o-mini', 'gpt-4o']);
  });
});
