import { afterEach, describe, expect, it, vi } from 'vitest';
import { readSseEvents, type SseEvent } from '../../../protocol/sse.ts';
import { startMockProvider, type MockProvider } from '../../helpers/mock-provider.ts';
import { mockProviderClient } from '../../helpers/mock-provider-client.ts';
import { startMockProviderSet } from '../../helpers/mock-provider-set.ts';

const started: MockProvider[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((mock) => mock.close()));
});

async function start(...args: Parameters<typeof startMockProvider>): Promise<MockProvider> {
  const mock = await startMockProvider(...args);
  started.push(mock);
  return mock;
}

function chat(mock: MockProvider, body: Record<string, unknown>, init: RequestInit = {}): Promise<Response> {
  const path = mock.flavor === 'anthropic' ? '/v1/messages' : '/chat/completions';
  const headers: Record<string, string> =
    mock.flavor === 'anthropic' ? { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01' } : { authorization: 'Bearer test-key' };
  return fetch(`${mock.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mock-model', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }], ...body }),
    ...init,
  });
}

async function events(response: Response): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  if (!response.body) return out;
  for await (const event of readSseEvents(response.body)) out.push(event);
  return out;
}

describe('mock provider, OpenAI flavor', () => {
  it('answers JSON when the request does not stream, and records what it received', async () => {
    const mock = await start();
    mock.script([{ kind: 'reply', content: 'Hello there', usage: { prompt_tokens: 7, completion_tokens: 2 } }]);
    const response = await chat(mock, { stream: false });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { total_tokens: number } };
    expect(body.choices[0]?.message.content).toBe('Hello there');
    expect(body.choices[0]?.finish_reason).toBe('stop');
    expect(body.usage.total_tokens).toBe(9);
    const [call] = mock.calls();
    expect(call).toMatchObject({ method: 'POST', path: '/v1/chat/completions', aborted: false, body: { model: 'mock-model', stream: false } });
    expect(call?.headers['authorization']).toBe('Bearer test-key');
  });

  it('streams chunks, the usage chunk with empty choices, then [DONE]', async () => {
    const mock = await start();
    mock.script([{ kind: 'reply', content: 'one two three', toolCalls: [{ name: 'lookup', arguments: '{"q":"x"}' }] }]);
    const stream = await events(await chat(mock, { stream: true, stream_options: { include_usage: true } }));
    expect(stream.at(-1)?.data).toBe('[DONE]');
    const chunks = stream.slice(0, -1).map((event) => JSON.parse(event.data) as { choices: Array<{ delta: { content?: string; tool_calls?: Array<{ id?: string; function: { name?: string; arguments: string } }> }; finish_reason: string | null }>; usage: unknown });
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('one two three');
    const argumentsText = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).map((call) => call.function.arguments).join('');
    expect(argumentsText).toBe('{"q":"x"}');
    expect(chunks.find((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.id)?.choices[0]?.delta.tool_calls?.[0]).toMatchObject({ id: 'call_mock_1', function: { name: 'lookup' } });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 10 } });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it('cuts the connection after N deltas without a terminator', async () => {
    const mock = await start();
    mock.script([{ kind: 'stream', deltas: ['a', 'b', 'c'], cutAfter: 2 }]);
    const response = await chat(mock, { stream: true });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of readSseEvents(response.body!)) seen.push(event.data);
      })(),
    ).rejects.toThrow();
    expect(seen.map((data) => (JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content)).toEqual(['', 'a', 'b']);
    expect(mock.calls()[0]?.aborted).toBe(false);
  });

  it('sends an in-band error event after N deltas', async () => {
    const mock = await start();
    mock.script([{ kind: 'stream', deltas: ['a', 'b'], errorAfter: 1 }]);
    const stream = await events(await chat(mock, { stream: true }));
    expect(stream).toHaveLength(3);
    expect(JSON.parse(stream[2]?.data ?? '')).toMatchObject({ error: { type: 'server_error' } });
  });

  it('answers a scripted status with the real error body and headers, then falls back to the default', async () => {
    const mock = await start();
    mock.script([{ kind: 'status', status: 429, headers: { 'retry-after': '2' } }]);
    const limited = await chat(mock, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    const next = await chat(mock, {});
    expect(next.status).toBe(200);
  });

  it('records aborted=true when the client gives up on a stalled request', async () => {
    const mock = await start();
    mock.script([{ kind: 'stall' }]);
    const controller = new AbortController();
    const pending = chat(mock, {}, { signal: controller.signal });
    await mock.waitForCalls({ count: 1 });
    controller.abort();
    await expect(pending).rejects.toThrow();
    const calls = await mock.waitForCalls({ aborted: 1 });
    expect(calls[0]?.aborted).toBe(true);
  });

  it('hangs up without any response', async () => {
    const mock = await start();
    mock.script([{ kind: 'hangup' }]);
    await expect(chat(mock, {})).rejects.toThrow();
    expect(mock.calls()[0]?.aborted).toBe(false);
  });

  it('refuses a wrong key and lists its models', async () => {
    const mock = await start({ apiKey: 'right-key', models: ['gpt-mock'] });
    expect((await chat(mock, {})).status).toBe(401);
    const models = await fetch(`${mock.baseUrl}/models`, { headers: { authorization: 'Bearer right-key' } });
    expect(await models.json()).toEqual({ object: 'list', data: [{ id: 'gpt-mock', object: 'model', created: 1_700_000_000, owned_by: 'system' }] });
  });

  it('can be scripted and inspected over HTTP by a fetch-only client', async () => {
    const mock = await start();
    const client = mockProviderClient(mock.origin);
    await client.script([{ kind: 'status', status: 503 }]);
    expect((await chat(mock, {})).status).toBe(503);
    await client.setDefault({ kind: 'reply', content: 'default answer' });
    const body = (await (await chat(mock, {})).json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]?.message.content).toBe('default answer');
    expect((await client.waitForCalls({ count: 2 })).map((call) => call.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
    await client.reset();
    expect(await client.calls()).toEqual([]);
    await expect(client.script([{ kind: 'nonsense' } as never])).rejects.toThrow(/400/);
  });
});

describe('mock provider and fake timers', () => {
  it('keeps pacing its deltas while the test fakes timers', async () => {
    const mock = await start();
    vi.useFakeTimers();
    try {
      mock.script([{ kind: 'stream', deltas: ['a', 'b', 'c'], delayMs: 20 }]);
      const stream = await events(await chat(mock, { stream: true }));
      expect(stream.at(-1)?.data).toBe('[DONE]');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('mock provider, Groq flavor', () => {
  it('puts x_groq.usage on the last chunk', async () => {
    const mock = await start({ flavor: 'groq' });
    mock.script([{ kind: 'reply', content: 'hi', usage: { prompt_tokens: 3, completion_tokens: 1 } }]);
    const stream = await events(await chat(mock, { stream: true }));
    const last = JSON.parse(stream.at(-2)?.data ?? '') as { x_groq: { usage: { total_tokens: number } } };
    expect(last.x_groq.usage.total_tokens).toBe(4);
  });
});

describe('mock provider, Anthropic flavor', () => {
  it('streams the full Messages event sequence with ping and tool use', async () => {
    const mock = await start({ flavor: 'anthropic' });
    mock.script([{ kind: 'reply', content: 'Let me check', toolCalls: [{ name: 'weather', arguments: '{"city":"Paris"}' }] }]);
    const stream = await events(await chat(mock, { stream: true }));
    expect(stream.map((event) => event.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const event of stream) expect((JSON.parse(event.data) as { type: string }).type).toBe(event.event);
    expect(JSON.parse(stream.at(-2)?.data ?? '')).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('answers 529 with overloaded_error and errors mid-stream with event: error', async () => {
    const mock = await start({ flavor: 'anthropic' });
    mock.script([{ kind: 'status', status: 529 }, { kind: 'stream', deltas: ['a'], errorAfter: 1 }]);
    const overloaded = await chat(mock, {});
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    const stream = await events(await chat(mock, { stream: true }));
    expect(stream.at(-1)).toMatchObject({ event: 'error' });
  });

  it('refuses a request without max_tokens as the real API does', async () => {
    const mock = await start({ flavor: 'anthropic' });
    const response = await chat(mock, { max_tokens: undefined });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  });
});

describe('mock provider set', () => {
  it('starts one mock per provider and describes them as AGENT_ONLINE_ENDPOINTS', async () => {
    const set = await startMockProviderSet();
    try {
      const endpoints = JSON.parse(set.endpointsJson({ groq: { timeout_ms: 5000 } })) as Record<string, { base_url: string; timeout_ms?: number }>;
      expect(endpoints['anthropic']?.base_url).toBe(set.providers.anthropic.origin);
      expect(endpoints['openai']?.base_url).toBe(`${set.providers.openai.origin}/v1`);
      expect(endpoints['groq']).toEqual({ base_url: `${set.providers.groq.origin}/v1`, timeout_ms: 5000 });
      const models = (await (await fetch(`${endpoints['xai']?.base_url}/models`)).json()) as { data: Array<{ id: string }> };
      expect(models.data.map((model) => model.id)).toEqual(['grok-3', 'grok-4']);
      expect(new Set(Object.values(set.origins())).size).toBe(4);
    } finally {
      await set.close();
    }
  });
});
