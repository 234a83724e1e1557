import { beforeEach, describe, expect, it } from 'vitest';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';
import { chatInit, hello, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('chat-json');
let gateway: TestGateway;

// A fresh app per test: its own circuit breaker, so one test's failures never skip a provider in the next.
beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

describe('non-streaming chat completions', () => {
  it('answers one chat.completion with the full provider/model, the usage and the agent field', async () => {
    await mocks.anthropic.script([{ kind: 'reply', content: 'Bonjour, monde', usage: { prompt_tokens: 9, completion_tokens: 3, cached_tokens: 4 } }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'anthropic/claude-sonnet-4-5', messages: hello }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(response.headers.get('x-agent-provider')).toBe('anthropic');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'anthropic/claude-sonnet-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Bonjour, monde' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 3 },
      agent: {
        backend: 'online',
        provider: 'anthropic',
        model_id: 'anthropic/claude-sonnet-4-5',
        attempts: [{ provider: 'anthropic', model_id: 'anthropic/claude-sonnet-4-5', status: 200, error_type: null }],
      },
    });
    expect(String(body['id'])).toMatch(/^chatcmpl-/);
  });

  it("accepts OpenAI's newer request fields and hands them to OpenAI as sent", async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Fine' }]);
    const newer = {
      reasoning_effort: 'none',
      verbosity: 'low',
      prompt_cache_key: 'thread-42',
      safety_identifier: 'user-hash-1',
      modalities: ['text'],
      prediction: { type: 'content', content: 'Fine' },
      web_search_options: {},
    };
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, ...newer }));
    expect(response.status).toBe(200);
    const [call] = await mocks.openai.calls();
    expect(call?.body).toMatchObject(newer);
  });

  it('gathers tool calls into the message, content null', async () => {
    await mocks.openai.script([{ kind: 'reply', toolCalls: [{ id: 'call_7', name: 'lookup', arguments: '{"q":"agents"}' }], finishReason: 'tool_calls' }]);
    const response = await gateway.fetch(
      '/v1/chat/completions',
      chatInit({ model: 'openai/gpt-4o-mini', messages: hello, tools: [{ type: 'function', function: { name: 'lookup' } }] }),
    );
    const body = (await response.json()) as { choices: Array<{ message: unknown; finish_reason: string }> };
    expect(body.choices[0]).toMatchObject({
      message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'lookup', arguments: '{"q":"agents"}' } }] },
      finish_reason: 'tool_calls',
    });
  });

  it('a local model with no bridge connected is 503 bridge_offline with Retry-After in seconds and retry-after-ms, as the contract says', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit', messages: hello }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe(String(Math.ceil(BRIDGE_OFFLINE_RETRY_AFTER_MS / 1000)));
    expect(response.headers.get('retry-after-ms')).toBe(String(BRIDGE_OFFLINE_RETRY_AFTER_MS));
    expect(await response.json()).toMatchObject({ error: { type: 'service_unavailable', code: 'bridge_offline', param: null } });
  });

  it('five local requests in a row while no bridge is connected are all bridge_offline, never circuit_open', async () => {
    for (let request = 0; request < 5; request++) {
      const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/llama', messages: hello }));
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: { code: 'bridge_offline' } });
    }
  });

  it('a local model with no bridge falls back to the online backup, and the attempts say so', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/llama', messages: hello, fallback_models: ['groq/llama-3.3-70b-versatile'] }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { agent: { backend: string; attempts: Array<{ model_id: string; error_type: string | null }> } };
    expect(body.agent.backend).toBe('online');
    expect(body.agent.attempts.map((attempt) => [attempt.model_id, attempt.error_type])).toEqual([
      ['local/llama', 'bridge_offline'],
      ['groq/llama-3.3-70b-versatile', null],
    ]);
    expect(response.headers.get('x-agent-attempts')).toBe('2');
  });
});
