import { beforeEach, describe, expect, it } from 'vitest';
import { chatInit, hello, readSse, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('chat-stream');
let gateway: TestGateway;

// A fresh app per test: its own circuit breaker, so one test's failures never skip a provider in the next.
beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: Array<{ delta: { role?: string; content?: string; tool_calls?: Array<{ index: number; id?: string; function: { name?: string; arguments: string } }> }; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

describe('streaming chat completions', () => {
  it('streams an OpenAI answer as chat.completion.chunk events ending in [DONE], with the metadata headers', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['Hello', ', ', 'world'] }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-agent-backend')).toBe('online');
    expect(response.headers.get('x-agent-provider')).toBe('openai');
    expect(response.headers.get('x-agent-model')).toBe('openai/gpt-4o');
    expect(response.headers.get('x-agent-attempts')).toBe('1');
    expect(response.headers.get('x-agent-latency-ms')).toMatch(/^\d+$/);
    const { data } = await readSse(response);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as Chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]?.id).toMatch(/^chatcmpl-/);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'openai/gpt-4o')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hello, world');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    // The upstream model name is the provider's own.
    const [call] = await mocks.openai.calls();
    expect((call?.body as { model: string }).model).toBe('gpt-4o');
  });

  it('with include_usage, ends with one chunk that has empty choices and the usage', async () => {
    await mocks.anthropic.script([{ kind: 'reply', content: 'Hi from Claude', usage: { prompt_tokens: 12, completion_tokens: 4 } }]);
    const response = await gateway.fetch(
      '/v1/chat/completions',
      chatInit({ model: 'anthropic/claude-sonnet-4-5', messages: hello, stream: true, stream_options: { include_usage: true } }),
    );
    expect(response.status).toBe(200);
    const { data } = await readSse(response);
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as Chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hi from Claude');
  });

  it('streams tool-call deltas with the call id and name first, then the arguments', async () => {
    await mocks.groq.script([{ kind: 'reply', toolCalls: [{ id: 'call_42', name: 'get_weather', arguments: '{"city":"Paris"}' }], finishReason: 'tool_calls' }]);
    const response = await gateway.fetch(
      '/v1/chat/completions',
      chatInit({
        model: 'groq/llama-3.3-70b-versatile',
        messages: hello,
        stream: true,
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      }),
    );
    const { data } = await readSse(response);
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as Chunk);
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: 'call_42', function: { name: 'get_weather' } });
    expect(calls.map((call) => call.function.arguments).join('')).toBe('{"city":"Paris"}');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('a stream cut after two deltas ends with an error event and never [DONE]', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['one ', 'two ', 'three'], cutAfter: 2 }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, stream: true, fallback_models: ['anthropic/claude-sonnet-4-5'] }));
    expect(response.status).toBe(200);
    const { data } = await readSse(response);
    expect(data).not.toContain('[DONE]');
    const last = JSON.parse(data.at(-1) ?? '{}') as { error?: { message: string; type: string; code: string } };
    expect(last.error).toMatchObject({ type: 'upstream_error', code: 'upstream_stream_error' });
    const text = data
      .slice(0, -1)
      .map((line) => (JSON.parse(line) as Chunk).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe('one two ');
    // The answer was committed to OpenAI: the backup is never asked.
    expect(await mocks.anthropic.calls()).toHaveLength(0);
  });
});

describe('events with nothing to send', () => {
  it('streams on past an empty text delta from a local model instead of stalling', async () => {
    const gateway = testGateway(mocks.origins, {
      createLocalModel: (_env, modelId) => ({
        provider: 'mlx',
        modelId: `local/${modelId}`,
        async *stream() {
          yield { type: 'text-delta', text: 'Hello' };
          yield { type: 'text-delta', text: '' };
          yield { type: 'text-delta', text: ' there' };
          yield { type: 'finish', finishReason: 'stop' };
        },
      }),
    });
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/tiny', stream: true, messages: hello }));
    const { data } = await readSse(response);
    expect(data.at(-1)).toBe('[DONE]');
    const text = data
      .slice(0, -1)
      .map((line) => (JSON.parse(line) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe('Hello there');
  });
});
