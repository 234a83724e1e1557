import { beforeEach, describe, expect, it } from 'vitest';
import { fallbackPolicy } from '../../functions/agents/agent-types.ts';
import { CircuitBreaker } from '../../functions/agents/circuit-breaker.ts';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';
import { TRAVERSAL_MODEL_IDS } from '../helpers/hostile-model-ids.ts';
import { chatInit, GATEWAY_KEY, hello, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('errors');
let gateway: TestGateway;

beforeEach(async () => {
  gateway = testGateway(mocks.origins, { maxBodyBytes: 64 * 1024 });
  await mocks.resetAll();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function errorOf(response: Response): Promise<ErrorBody['error']> {
  const body = (await response.json()) as ErrorBody;
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.message).not.toMatch(/\n\s+at /); // no stack traces
  return body.error;
}

describe('request validation', () => {
  const table: Array<[string, unknown, string | null]> = [
    ['no messages', { model: 'openai/gpt-4o' }, 'messages'],
    ['empty messages', { model: 'openai/gpt-4o', messages: [] }, 'messages'],
    ['a bad role', { model: 'openai/gpt-4o', messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    ['temperature 3', { model: 'openai/gpt-4o', messages: hello, temperature: 3 }, 'temperature'],
    ['max_tokens -1', { model: 'openai/gpt-4o', messages: hello, max_tokens: -1 }, 'max_tokens'],
    ['n = 2', { model: 'openai/gpt-4o', messages: hello, n: 2 }, 'n'],
    ['an unknown field', { model: 'openai/gpt-4o', messages: hello, temperatur: 1 }, 'temperatur'],
    ['stream not a boolean', { model: 'openai/gpt-4o', messages: hello, stream: 'yes' }, 'stream'],
    ['a bad agent_type', { model: 'openai/gpt-4o', messages: hello, agent_type: 'cloud' }, 'agent_type'],
    ['stream_options without stream', { model: 'openai/gpt-4o', messages: hello, stream_options: { include_usage: true } }, 'stream_options'],
    ['a malformed fallback model', { model: 'openai/gpt-4o', messages: hello, fallback_models: ['nope'] }, 'fallback_models[0]'],
    ['no model and no default', { messages: hello }, 'model'],
  ];
  for (const [what, body, param] of table) {
    it(`${what} is 400 with param ${String(param)}, and no provider is called`, async () => {
      const response = await gateway.fetch('/v1/chat/completions', chatInit(body));
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', param });
      expect(await mocks.openai.calls()).toHaveLength(0);
    });
  }

  it('malformed JSON is 400', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit('{"model": "openai/gpt-4o", '));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('a body that is not JSON by its content type is 400', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit(JSON.stringify({ model: 'openai/gpt-4o', messages: hello }), { 'content-type': 'text/plain' }));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'unsupported_content_type' });
  });

  it('an unknown provider prefix is 404 model_not_found on param model', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'mistral/large', messages: hello }));
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it('a provider without a key is 404 model_not_found', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'xai/grok-4', messages: hello }));
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'model_not_found', param: 'model' });
  });
});

describe('model ids with an empty, . or .. segment or a backslash', () => {
  it.each(TRAVERSAL_MODEL_IDS)('local/%s is 400 naming model, before any bridge is asked', async (id) => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: `local/${id}`, messages: hello }));
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: null });
    expect(error.message).toMatch(/must not contain (a backslash|an empty segment|a '\.' or '\.\.' segment)/);
  });

  it.each([
    [{ model: 'openai/../gpt-4o', messages: hello }, 'model'],
    [{ model: 'bridge/../../tmp/x', agent_type: 'local', messages: hello }, 'model'],
    [{ model: 'openai/gpt-4o', messages: hello, fallback_models: ['local/x/../../tmp/x'] }, 'fallback_models[0]'],
  ])('%j is 400 naming %s, and no provider is called', async (body, param) => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit(body));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', param });
    expect(await mocks.openai.calls()).toHaveLength(0);
  });
});

describe('body size limit', () => {
  const big = JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] });

  it('refuses a body whose Content-Length is over the limit with 413 naming the limit', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit(big, { 'content-length': String(big.length) }));
    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({ code: 'request_too_large' });
  });

  it('refuses a chunked body (no Content-Length) once it passes the limit', async () => {
    const bytes = new TextEncoder().encode(big);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 8 * 1024) controller.enqueue(bytes.slice(offset, offset + 8 * 1024));
        controller.close();
      },
    });
    const response = await gateway.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect((await errorOf(response)).message).toContain('65536 bytes');
  });

  it('checks the key before the size, and the size before the content type', async () => {
    const anonymous = await gateway.fetch('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(anonymous.status).toBe(401);
    const notJson = await gateway.fetch('/v1/chat/completions', { ...chatInit(big), headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'text/plain' } });
    expect(notJson.status).toBe(413);
    const small = await gateway.fetch('/v1/chat/completions', { ...chatInit('{}'), headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'text/plain' } });
    expect(await errorOf(small)).toMatchObject({ code: 'unsupported_content_type' });
  });

  it('bounds every route that reads a body, in its own error shape', async () => {
    for (const path of ['/v1/responses', '/v1/messages', '/v1/messages/count_tokens']) {
      const response = await gateway.fetch(path, chatInit(big));
      expect(response.status).toBe(413);
      const body = (await response.json()) as { type?: string; error: { type: string } };
      expect(body.error.type).toBe(path.startsWith('/v1/messages') ? 'request_too_large' : 'invalid_request_error');
    }
  });
});

describe('routes that do not exist', () => {
  it('an unknown path is 404 in the OpenAI shape', async () => {
    const response = await gateway.fetch('/nope');
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', message: 'Invalid URL (GET /nope)' });
  });

  it('a wrong method is 405 with Allow, in the OpenAI shape', async () => {
    const response = await gateway.fetch('/v1/chat/completions', { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await errorOf(response)).toMatchObject({ code: 'method_not_allowed' });
    const models = await gateway.fetch('/v1/models', { method: 'DELETE', headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(models.status).toBe(405);
    expect(models.headers.get('allow')).toBe('GET, HEAD');
    // `Allow` tells the truth: Hono answers HEAD with the GET route, without a body.
    const head = await gateway.fetch('/v1/models', { method: 'HEAD', headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('a wrong method on /v1/responses/:id names both of its methods, and an unknown method is a 405 too', async () => {
    const response = await gateway.fetch('/v1/responses/resp_123', { method: 'POST', headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, DELETE');
    expect(await errorOf(response)).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed', message: 'Method POST is not allowed on /v1/responses/resp_123; use GET or HEAD or DELETE.' });
    const patch = await gateway.fetch('/v1/chat/completions', { method: 'PATCH', headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('POST');
  });

  it('a wrong method without the gateway key is a 401: the 405 tells nothing before the key is checked', async () => {
    const response = await gateway.fetch('/v1/chat/completions', { method: 'GET' });
    expect(response.status).toBe(401);
    expect(response.headers.get('allow')).toBeNull();
  });

  it('the bridge routes answer a wrong method with 405 and Allow: GET, HEAD', async () => {
    for (const path of ['/v1/bridge', '/bridge/connect']) {
      const response = await gateway.fetch(path, { method: 'POST', headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      expect(await errorOf(response)).toMatchObject({ code: 'method_not_allowed' });
    }
  });

  it('a bad AGENT_ONLINE_ENDPOINTS is a generic 500, not a crash; the variable is named in the log only', async () => {
    for (const path of ['/v1/chat/completions', '/v1/models']) {
      const init = path === '/v1/models' ? { headers: { authorization: `Bearer ${GATEWAY_KEY}` } } : chatInit({ model: 'openai/gpt-4o', messages: hello });
      const response = await gateway.fetch(path, init, { AGENT_ONLINE_ENDPOINTS: '{not json' });
      expect(response.status).toBe(500);
      const error = await errorOf(response);
      expect(error).toMatchObject({ type: 'server_error', code: 'invalid_configuration' });
      expect(error.message).not.toContain('AGENT_ONLINE_ENDPOINTS');
    }
    expect(gateway.logs.some((line) => line.includes('AGENT_ONLINE_ENDPOINTS is not valid JSON'))).toBe(true);
  });
});

describe('retry hints: Retry-After in whole seconds, retry-after-ms in milliseconds', () => {
  // No retries of the same provider: the upstream's one answer is what the client hears about.
  const once = (): TestGateway => testGateway(mocks.origins, { policy: fallbackPolicy({ backoff: { baseMs: 0, capMs: 0, maxRetries: 0 } }) });

  function hint(response: Response): { seconds: string | null; milliseconds: string | null } {
    return { seconds: response.headers.get('retry-after'), milliseconds: response.headers.get('retry-after-ms') };
  }

  it('an upstream 429 with retry-after: 2 reaches the client as Retry-After: 2 and retry-after-ms: 2000', async () => {
    await mocks.openai.script([{ kind: 'status', status: 429, headers: { 'retry-after': '2' } }]);
    const response = await once().fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }));
    expect(response.status).toBe(429);
    expect(hint(response)).toEqual({ seconds: '2', milliseconds: '2000' });
    expect(await errorOf(response)).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
  });

  it("an upstream's retry-after-ms: 1500 is rounded up to Retry-After: 2", async () => {
    await mocks.openai.script([{ kind: 'status', status: 429, headers: { 'retry-after-ms': '1500' } }]);
    const response = await once().fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }));
    expect(response.status).toBe(429);
    expect(hint(response)).toEqual({ seconds: '2', milliseconds: '1500' });
  });

  it('an upstream 429 that names no wait still tells the client one: 1 s', async () => {
    await mocks.openai.script([{ kind: 'status', status: 429 }]);
    const response = await once().fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }));
    expect(response.status).toBe(429);
    expect(hint(response)).toEqual({ seconds: '1', milliseconds: '1000' });
  });

  it("an Anthropic 529 overloaded carries the upstream's Retry-After in seconds", async () => {
    await mocks.anthropic.script([{ kind: 'status', status: 529, headers: { 'retry-after': '3' } }]);
    const response = await once().fetch('/v1/chat/completions', chatInit({ model: 'anthropic/claude-sonnet-4-5', messages: hello }));
    expect(response.status).toBe(502);
    expect(await errorOf(response)).toMatchObject({ code: 'overloaded' });
    expect(hint(response)).toEqual({ seconds: '3', milliseconds: '3000' });
  });

  it('circuit_open says in seconds when the first breaker lets a probe through', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    breaker.recordFailure('openai/gpt-4o', Date.now());
    breaker.recordFailure('anthropic/claude-sonnet-4-5', Date.now());
    const gateway = testGateway(mocks.origins, { breaker });
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, fallback_models: ['anthropic/claude-sonnet-4-5'] }));
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatchObject({ type: 'service_unavailable', code: 'circuit_open' });
    const { seconds, milliseconds } = hint(response);
    expect(seconds).toBe('30');
    expect(Number(milliseconds)).toBeGreaterThan(29_000);
    expect(Number(milliseconds)).toBeLessThanOrEqual(30_000);
    // Nothing was called: the headers say so, and still name what was tried.
    expect(response.headers.get('x-agent-attempts')).toBe('0');
    expect(await mocks.openai.calls()).toHaveLength(0);
  });

  it('bridge_offline says 5 s, both ways', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit', messages: hello }));
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatchObject({ code: 'bridge_offline' });
    expect(hint(response)).toEqual({ seconds: String(BRIDGE_OFFLINE_RETRY_AFTER_MS / 1000), milliseconds: String(BRIDGE_OFFLINE_RETRY_AFTER_MS) });
  });

  it('the settings database being unreachable is a 503 with a retry hint', async () => {
    const response = await gateway.fetch('/v1/settings', { headers: { authorization: `Bearer ${GATEWAY_KEY}` } }, { TURSO_DATABASE_URL: 'http://127.0.0.1:1' });
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatchObject({ code: 'database_unavailable' });
    expect(hint(response)).toEqual({ seconds: '1', milliseconds: '1000' });
  });

  it('no settings database configured is a 503 with a retry hint too', async () => {
    const response = await gateway.fetch('/v1/settings', { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatchObject({ code: 'database_not_configured' });
    expect(hint(response)).toEqual({ seconds: '1', milliseconds: '1000' });
  });

  it('a 400 carries no retry hint', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: [] }));
    expect(response.status).toBe(400);
    expect(hint(response)).toEqual({ seconds: null, milliseconds: null });
  });
});

describe('error answers say what was tried', () => {
  it('a 502 after every attempt failed carries x-agent-attempts and the last model tried', async () => {
    await mocks.openai.setDefault({ kind: 'status', status: 500 });
    await mocks.anthropic.setDefault({ kind: 'status', status: 401 });
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, fallback_models: ['anthropic/claude-sonnet-4-5'] }));
    expect(response.status).toBe(502);
    expect(response.headers.get('x-agent-attempts')).toBe('4');
    expect(response.headers.get('x-agent-backend')).toBe('online');
    expect(response.headers.get('x-agent-provider')).toBe('anthropic');
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(Number(response.headers.get('x-agent-latency-ms'))).toBeGreaterThanOrEqual(0);
  });

  it("the upstream's 400 carries x-agent-attempts: 1 and the model that refused", async () => {
    await mocks.openai.script([{ kind: 'status', status: 400, body: { error: { message: 'Invalid value for seed', type: 'invalid_request_error', param: 'seed', code: null } } }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ param: 'seed' });
    expect(response.headers.get('x-agent-attempts')).toBe('1');
    expect(response.headers.get('x-agent-model')).toBe('openai/gpt-4o');
  });

  it('bridge_offline names the local backend and model', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/llama', messages: hello }));
    expect(response.status).toBe(503);
    expect(response.headers.get('x-agent-backend')).toBe('local');
    expect(response.headers.get('x-agent-model')).toBe('local/llama');
    expect(response.headers.get('x-agent-attempts')).toBe('1');
  });

  it('a request refused before any model was chosen has no x-agent-* headers to give', async () => {
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'mistral/large', messages: hello }));
    expect(response.status).toBe(404);
    expect(response.headers.get('x-agent-attempts')).toBeNull();
  });
});
