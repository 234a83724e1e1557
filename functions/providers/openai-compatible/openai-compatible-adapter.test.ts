import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { upstreamChatRequestSchema, type UpstreamChatRequest } from '../../../protocol/chat-request.ts';
import { fixtureFetch, testDeps, type FixtureAnswer } from '../../../tests/helpers/mock-provider-fixtures.ts';
import type { ProviderConfig } from '../../config.ts';
import { providerAdapters } from '../index.ts';
import { failure } from '../../../tests/helpers/gateway-failure.ts';

type Provider = 'openai' | 'xai' | 'groq';

const KEY = 'sk-test-0123456789abcdef';

function configFor(provider: Provider, overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return { provider, apiKey: KEY, baseUrl: `https://${provider}.example/v1`, headers: {}, timeoutMs: 30_000, models: undefined, secrets: [KEY], ...overrides };
}

function request(body: Record<string, unknown> = {}): UpstreamChatRequest {
  return upstreamChatRequestSchema.parse({ model: 'ignored', messages: [{ role: 'user', content: 'Hi' }], ...body });
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function run(provider: Provider, answers: FixtureAnswer[], body: Record<string, unknown> = {}, model = 'gpt-4o-mini') {
  const upstream = fixtureFetch(answers);
  const chatModel = providerAdapters[provider].createModel(configFor(provider), model, testDeps(upstream.fetch));
  const events = collect(chatModel.stream({ request: request(body), signal: new AbortController().signal }));
  return { upstream, events, chatModel };
}


function text(events: ChatEvent[]): string {
  return events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
}

describe('OpenAI-compatible providers: streams', () => {
  it("turns OpenAI's stream into text deltas and one finish with usage, cached tokens included", async () => {
    const { events, chatModel } = run('openai', [{ fixture: 'openai/stream-with-usage.sse' }]);
    const result = await events;
    expect(chatModel.modelId).toBe('openai/gpt-4o-mini');
    expect(text(result)).toBe('The capital of France is Paris.');
    expect(result.filter((event) => event.type === 'finish')).toHaveLength(1);
    expect(result.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: {
        prompt_tokens: 1117,
        completion_tokens: 7,
        total_tokens: 1124,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('streams parallel tool calls: id and name on the first delta of each index, then argument pieces', async () => {
    const result = await run('openai', [{ fixture: 'openai/tool-call.sse' }]).events;
    const calls = result.filter((event) => event.type === 'tool-call-delta');
    expect(calls[0]).toEqual({ type: 'tool-call-delta', index: 0, id: 'call_3kGq8WmZ0fRr1yP2sTn6uVb4', name: 'get_weather', arguments: '' });
    const argumentsOf = (index: number): string =>
      calls.map((event) => (event.type === 'tool-call-delta' && event.index === index ? event.arguments : '')).join('');
    expect(JSON.parse(argumentsOf(0))).toEqual({ location: 'Paris' });
    expect(JSON.parse(argumentsOf(1))).toEqual({ timezone: 'Europe/Paris' });
    expect(calls.find((event) => event.type === 'tool-call-delta' && event.index === 1)).toMatchObject({ id: 'call_9xHd2LpQ7eWc5vA0mZr3TgNs', name: 'get_time' });
    expect(result.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls', usage: { total_tokens: 128 } });
  });

  it("reports xAI's usage in OpenAI's meaning: its reasoning tokens counted in completion_tokens (recorded grok-3-mini, 13-byte pieces)", async () => {
    const upstream = fixtureFetch([{ fixture: 'xai/grok-3-mini-tool-call.sse', chunkSize: 13 }]);
    const chatModel = providerAdapters.xai.createModel(configFor('xai'), 'grok-3-mini', testDeps(upstream.fetch));
    const result = await collect(chatModel.stream({ request: request(), signal: new AbortController().signal }));
    expect(result.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'tool_calls',
      usage: { prompt_tokens: 291, completion_tokens: 222, total_tokens: 513, prompt_tokens_details: { cached_tokens: 290 }, completion_tokens_details: { reasoning_tokens: 196 } },
    });
  });

  it("leaves OpenAI's own usage as it is: its completion_tokens already count reasoning", async () => {
    const result = await run('openai', [{ fixture: 'xai/grok-3-mini-tool-call.sse' }]).events;
    expect(result.at(-1)).toMatchObject({ usage: { prompt_tokens: 291, completion_tokens: 26, total_tokens: 513 } });
  });

  it("turns OpenAI's structured-output refusal into refusal deltas, never text (recorded, 13-byte pieces)", async () => {
    const result = await run('openai', [{ fixture: 'openai/refusal.sse', chunkSize: 13 }]).events;
    expect(text(result)).toBe('');
    expect(result.map((event) => (event.type === 'refusal-delta' ? event.text : '')).join('')).toBe("I'm sorry, but I can't assist with that request.");
    expect(result.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('names a tool call once even when the provider repeats its id and name in later deltas', async () => {
    const chunk = (call: Record<string, unknown>): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...call }] }, finish_reason: null }] })}\n\n`;
    const body = [
      chunk({ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }),
      chunk({ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }),
      chunk({ id: 'call_1', function: { name: 'get_weather' } }),
      chunk({ function: { name: 'get_weather', arguments: '"Paris"}' } }),
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n',
    ].join('');
    const result = await run('openai', [{ body, headers: { 'content-type': 'text/event-stream' } }]).events;
    expect(result.filter((event) => event.type === 'tool-call-delta')).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'get_weather', arguments: '' },
      { type: 'tool-call-delta', index: 0, arguments: '{"city":' },
      { type: 'tool-call-delta', index: 0, arguments: '"Paris"}' },
    ]);
  });

  it('keeps a tool name that arrives after the id, in a delta of its own', async () => {
    const chunk = (call: Record<string, unknown>): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...call }] }, finish_reason: null }] })}\n\n`;
    const body = [
      chunk({ id: 'call_1', type: 'function', function: { arguments: '' } }),
      chunk({ function: { name: 'get_weather', arguments: '' } }),
      chunk({ function: { arguments: '{}' } }),
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n',
    ].join('');
    const result = await run('openai', [{ body, headers: { 'content-type': 'text/event-stream' } }]).events;
    expect(result.filter((event) => event.type === 'tool-call-delta')).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_1', arguments: '' },
      { type: 'tool-call-delta', index: 0, name: 'get_weather', arguments: '' },
      { type: 'tool-call-delta', index: 0, arguments: '{}' },
    ]);
  });

  it("reads Groq's x_groq.usage into the finish event", async () => {
    const result = await run('groq', [{ fixture: 'groq/x-groq-usage.sse' }], {}, 'llama-3.3-70b-versatile').events;
    expect(text(result)).toBe('Fast inference matters.');
    expect(result.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 40, completion_tokens: 4, total_tokens: 44 } });
  });

  it('throws an in-band error after the first delta as a non-retryable stream error', async () => {
    const upstream = fixtureFetch([{ fixture: 'openai/error-mid-stream.sse' }]);
    const chatModel = providerAdapters.openai.createModel(configFor('openai'), 'gpt-4o-mini', testDeps(upstream.fetch));
    const seen: ChatEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of chatModel.stream({ request: request(), signal: new AbortController().signal })) seen.push(event);
      })(),
    );
    expect(text(seen)).toBe('Once upon');
    expect(error).toMatchObject({ status: 502, code: 'upstream_stream_error', retryable: false });
    expect(error.message).toContain('The server had an error');
  });

  it('makes an in-band error before any delta retryable', async () => {
    const body = 'data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}\n\n';
    const error = await failure(run('openai', [{ body }]).events);
    expect(error).toMatchObject({ code: 'upstream_stream_error', retryable: true });
  });

  it('reports a stream that ends without finish_reason or [DONE] as broken off', async () => {
    const body = 'data: {"choices":[{"index":0,"delta":{"content":"Hal"},"finish_reason":null}]}\n\n';
    const error = await failure(run('openai', [{ body }]).events);
    expect(error).toMatchObject({ status: 502, code: 'upstream_stream_error', retryable: false });
  });
});

describe('OpenAI-compatible providers: requests', () => {
  // Our routing fields cannot reach here (UpstreamChatRequest); tests/workers/chat-fallback.test.ts sees them dropped.
  it("sends the model's own name, always streams and asks for usage", async () => {
    const { upstream, events } = run('openai', [{ fixture: 'openai/stream-with-usage.sse' }], {
      stream: false,
      temperature: 0.3,
      max_tokens: null,
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    await events;
    const [sent] = upstream.requests;
    expect(sent?.url).toBe('https://openai.example/v1/chat/completions');
    expect(sent?.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect(sent?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      temperature: 0.3,
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('does not send stream_options to Groq, which reports usage in x_groq', async () => {
    const { upstream, events } = run('groq', [{ fixture: 'groq/x-groq-usage.sse' }], {}, 'llama-3.3-70b-versatile');
    await events;
    expect(upstream.requests[0]?.body).not.toHaveProperty('stream_options');
  });

  it.each([
    ['groq', { logprobs: true }, 'logprobs'],
    ['groq', { top_logprobs: 2 }, 'top_logprobs'],
    ['groq', { logit_bias: { '50256': -100 } }, 'logit_bias'],
    ['groq', { messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi', name: 'ann' }] }, 'messages[1].name'],
    ['openai', { top_k: 40 }, 'top_k'],
    ['xai', { min_p: 0.1 }, 'min_p'],
    ['groq', { repetition_penalty: 1.1 }, 'repetition_penalty'],
    ['openai', { chat_template_kwargs: { enable_thinking: false } }, 'chat_template_kwargs'],
  ] as const)('%s refuses %j with a 400 naming %s, before any upstream call', async (provider, body, param) => {
    const { upstream, events } = run(provider, [{ fixture: 'openai/stream-with-usage.sse' }], body);
    const error = await failure(events);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param, callerFault: true });
    expect(upstream.requests).toHaveLength(0);
  });

  it("refuses penalties for xAI's reasoning models but passes them to the others", async () => {
    const refused = run('xai', [{ fixture: 'openai/stream-with-usage.sse' }], { frequency_penalty: 0.5 }, 'grok-4');
    expect(await failure(refused.events)).toMatchObject({ status: 400, param: 'frequency_penalty' });
    const passed = run('xai', [{ fixture: 'openai/stream-with-usage.sse' }], { frequency_penalty: 0.5 }, 'grok-3');
    await passed.events;
    expect(passed.upstream.requests[0]?.body).toMatchObject({ model: 'grok-3', frequency_penalty: 0.5 });
  });

  it("passes OpenAI's newer fields through to OpenAI as the caller wrote them", async () => {
    const newer = {
      reasoning_effort: 'none',
      verbosity: 'low',
      prompt_cache_key: 'thread-42',
      safety_identifier: 'user-hash-1',
      modalities: ['text'],
      prediction: { type: 'content', content: 'const x = 1;' },
      web_search_options: { search_context_size: 'low' },
      audio: null,
    };
    const { upstream, events } = run('openai', [{ fixture: 'openai/stream-with-usage.sse' }], newer, 'gpt-5.1');
    await events;
    const { audio: _nullIsNotSent, ...sent } = newer;
    expect(upstream.requests[0]?.body).toMatchObject(sent);
    expect(upstream.requests[0]?.body).not.toHaveProperty('audio');
  });

  it.each(['xai', 'groq'] as const)("%s refuses OpenAI-only features that would change the answer, and leaves out OpenAI's mere hints", async (provider) => {
    for (const [body, param] of [
      [{ verbosity: 'low' }, 'verbosity'],
      [{ web_search_options: {} }, 'web_search_options'],
      [{ audio: { voice: 'alloy', format: 'wav' } }, 'audio'],
    ] as const) {
      const refused = run(provider, [{ fixture: 'openai/stream-with-usage.sse' }], body);
      expect(await failure(refused.events)).toMatchObject({ status: 400, param, code: 'unsupported_parameter' });
      expect(refused.upstream.requests).toHaveLength(0);
    }
    const hints = { prompt_cache_key: 'thread-42', safety_identifier: 'user-hash-1', modalities: ['text'], prediction: { type: 'content', content: 'x' }, verbosity: 'medium' };
    const { upstream, events } = run(provider, [{ fixture: provider === 'groq' ? 'groq/x-groq-usage.sse' : 'openai/stream-with-usage.sse' }], hints);
    await events;
    for (const field of Object.keys(hints)) expect(upstream.requests[0]?.body).not.toHaveProperty(field);
  });

  it('drops a refused field set to its neutral value instead of refusing it', async () => {
    const { upstream, events } = run('groq', [{ fixture: 'groq/x-groq-usage.sse' }], { logprobs: false, n: 1 });
    await events;
    expect(upstream.requests[0]?.body).not.toHaveProperty('logprobs');
    expect(upstream.requests[0]?.body).not.toHaveProperty('n');
  });

  it('lets configured headers add to or override the defaults', async () => {
    const upstream = fixtureFetch([{ fixture: 'openai/stream-with-usage.sse' }]);
    const chatModel = providerAdapters.openai.createModel(configFor('openai', { headers: { 'OpenAI-Organization': 'org-1' } }), 'gpt-4o', testDeps(upstream.fetch));
    await collect(chatModel.stream({ request: request(), signal: new AbortController().signal }));
    expect(upstream.requests[0]?.headers['openai-organization']).toBe('org-1');
  });
});

describe('OpenAI-compatible providers: failures', () => {
  it('classifies a 429 with retry-after as retryable and says how long to wait', async () => {
    const error = await failure(
      run('openai', [{ status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } }]).events,
    );
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryable: true, callerFault: false, retryAfterMs: 7000 });
  });

  it("handles xAI's string error body and scrubs the key out of the message", async () => {
    const body = { code: 'Client specified an invalid argument', error: `Incorrect API key provided: ${KEY}. Also xai-AbCdEf123456 is wrong.` };
    const error = await failure(run('xai', [{ status: 400, body }], {}, 'grok-3').events);
    expect(error).toMatchObject({ status: 400, callerFault: true, code: 'invalid_request' });
    expect(error.message).toContain('xai: Incorrect API key provided: [redacted]');
    expect(error.message).not.toContain(KEY);
    expect(error.message).not.toContain('xai-AbCdEf');
  });

  it('cancels a long error body instead of reading all of it', async () => {
    const { upstream, events } = run('openai', [{ status: 503, body: 'x'.repeat(100_000), chunkSize: 1024 }]);
    expect(await failure(events)).toMatchObject({ status: 503, retryable: true });
    expect(upstream.cancelled()).toBe(1);
  });

  it('turns a connect error into a retryable 502', async () => {
    const connectError = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const error = await failure(run('openai', [{ connectError }]).events);
    expect(error).toMatchObject({ status: 502, code: 'upstream_unreachable', retryable: true });
  });

  it("rethrows the signal's reason when the caller aborts mid-stream, and the body is released", async () => {
    const upstream = fixtureFetch([{ fixture: 'openai/stream-with-usage.sse' }]);
    const chatModel = providerAdapters.openai.createModel(configFor('openai'), 'gpt-4o-mini', testDeps(upstream.fetch));
    const controller = new AbortController();
    const reason = new Error('client went away');
    const iterator = chatModel.stream({ request: request(), signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: 'text-delta', text: 'The' });
    controller.abort(reason);
    await expect(iterator.next()).rejects.toBe(reason);
  });

  it('stops reading the upstream when the consumer returns early', async () => {
    const upstream = fixtureFetch([{ fixture: 'openai/stream-with-usage.sse' }]);
    const chatModel = providerAdapters.openai.createModel(configFor('openai'), 'gpt-4o-mini', testDeps(upstream.fetch));
    for await (const event of chatModel.stream({ request: request(), signal: new AbortController().signal })) {
      expect(event.type).toBe('text-delta');
      break;
    }
    expect(upstream.cancelled()).toBe(1);
  });
});

describe('OpenAI-compatible providers: models', () => {
  it("lists the ids the provider's models endpoint reports", async () => {
    const upstream = fixtureFetch([{ body: { object: 'list', data: [{ id: 'gpt-4o', object: 'model', owned_by: 'system' }, { id: 'gpt-4o-mini', object: 'model', owned_by: 'system' }] } }]);
    const ids = await providerAdapters.openai.listModels(configFor('openai'), testDeps(upstream.fetch), new AbortController().signal);
    expect(ids).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(upstream.requests[0]).toMatchObject({ url: 'https://openai.example/v1/models', method: 'GET' });
  });

  it('answers from the configured model list without asking', async () => {
    const upstream = fixtureFetch([]);
    const ids = await providerAdapters.groq.listModels(configFor('groq', { models: ['llama-a'] }), testDeps(upstream.fetch), new AbortController().signal);
    expect(ids).toEqual(['llama-a']);
    expect(upstream.requests).toHaveLength(0);
  });
});
