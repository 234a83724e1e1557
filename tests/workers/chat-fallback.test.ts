import { beforeEach, describe, expect, it } from 'vitest';
import { fallbackPolicy } from '../../functions/agents/agent-types.ts';
import { CircuitBreaker } from '../../functions/agents/circuit-breaker.ts';
import { chatInit, hello, PROVIDER_KEYS, readSse, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('chat-fallback');
let gateway: TestGateway;
const withBackup = { model: 'openai/gpt-4o', messages: hello, fallback_models: ['anthropic/claude-sonnet-4-5'] };

// A fresh app per test: its own circuit breaker, so one test's failures never skip a provider in the next.
beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

describe('fallback through real provider adapters', () => {
  it('retries a 503 twice, then the Anthropic backup serves; headers and attempts say so', async () => {
    await mocks.openai.setDefault({ kind: 'status', status: 503 });
    await mocks.anthropic.script([{ kind: 'reply', content: 'Claude here' }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ ...withBackup, stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(response.headers.get('x-agent-attempts')).toBe('4');
    const { data } = await readSse(response);
    expect(data.at(-1)).toBe('[DONE]');
    expect(await mocks.openai.calls()).toHaveLength(3);
    expect(await mocks.anthropic.calls()).toHaveLength(1);
  });

  it('each upstream gets its own model name and none of the routing fields', async () => {
    await mocks.openai.script([{ kind: 'status', status: 401 }, { kind: 'reply', content: 'Mini here' }]);
    const body = { ...withBackup, agent_type: 'online', fallback_models: ['openai/gpt-4o-mini'], temperature: 0.3 };
    const response = await gateway.fetch('/v1/chat/completions', chatInit(body));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('openai/gpt-4o-mini');
    const sent = (await mocks.openai.calls()).map((call) => call.body);
    expect(sent).toEqual([
      expect.objectContaining({ model: 'gpt-4o', temperature: 0.3 }),
      expect.objectContaining({ model: 'gpt-4o-mini', temperature: 0.3 }),
    ]);
    for (const upstreamBody of sent) {
      expect(upstreamBody).not.toHaveProperty('agent_type');
      expect(upstreamBody).not.toHaveProperty('fallback_models');
    }
  });

  it('an Anthropic 529 overloaded is retried before moving on', async () => {
    await mocks.anthropic.setDefault({ kind: 'status', status: 529 });
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'anthropic/claude-sonnet-4-5', messages: hello, fallback_models: ['groq/llama-3.3-70b-versatile'] }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { agent: { attempts: Array<{ status: number; error_type: string | null }> } };
    expect(body.agent.attempts.map((attempt) => [attempt.status, attempt.error_type])).toEqual([
      [529, 'overloaded'],
      [529, 'overloaded'],
      [529, 'overloaded'],
      [200, null],
    ]);
  });

  it('a 401 from the primary moves straight to the backup', async () => {
    await mocks.openai.script([{ kind: 'status', status: 401 }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit(withBackup));
    expect(response.status).toBe(200);
    expect(await mocks.openai.calls()).toHaveLength(1);
    expect(await mocks.anthropic.calls()).toHaveLength(1);
  });

  it('a 429 with a Retry-After beyond the cap goes straight to the backup', async () => {
    await mocks.openai.script([{ kind: 'status', status: 429, headers: { 'retry-after': '120' } }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit(withBackup));
    expect(response.status).toBe(200);
    expect(await mocks.openai.calls()).toHaveLength(1);
  });

  it("a 400 is the caller's mistake: returned at once with the upstream's param, the backup never asked", async () => {
    await mocks.openai.script([{ kind: 'status', status: 400, body: { error: { message: 'Invalid value for seed', type: 'invalid_request_error', param: 'seed', code: null } } }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit(withBackup));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'seed', type: 'invalid_request_error' } });
    expect(await mocks.anthropic.calls()).toHaveLength(0);
  });

  it('when every provider fails: 502 listing the attempts, without any key in the body', async () => {
    await mocks.openai.setDefault({ kind: 'status', status: 500 });
    await mocks.anthropic.setDefault({ kind: 'status', status: 401, body: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${PROVIDER_KEYS.ANTHROPIC_API_KEY}` } } });
    const response = await gateway.fetch('/v1/chat/completions', chatInit(withBackup));
    expect(response.status).toBe(502);
    const text = await response.text();
    for (const key of Object.values(PROVIDER_KEYS)) expect(text).not.toContain(key);
    const body = JSON.parse(text) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('upstream_error');
    expect(body.error.message).toContain('openai/gpt-4o: 500');
    expect(body.error.message).toContain('anthropic/claude-sonnet-4-5: 401 upstream_auth_failed');
    for (const line of gateway.logs) for (const key of Object.values(PROVIDER_KEYS)) expect(line).not.toContain(key);
  });

  it('a stream that stalls before its first delta hits the per-attempt deadline, is not asked again, and the backup serves', async () => {
    await mocks.openai.setDefault({ kind: 'stall' });
    const response = await gateway.fetch(
      '/v1/chat/completions',
      chatInit({ ...withBackup, stream: true }),
      { AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: `${mocks.origins.openai}/v1`, timeout_ms: 200 }, anthropic: { base_url: mocks.origins.anthropic } }) },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    await readSse(response);
    // The stalled attempt was aborted, which the mock sees as the client closing.
    const calls = await mocks.openai.waitForCalls({ count: 1, aborted: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.aborted).toBe(true);
  });
});

describe("the caller's fault stays a 400 with its param, whichever candidate said it", () => {
  const badSeed = { kind: 'status', status: 400, body: { error: { message: 'Invalid value for seed', type: 'invalid_request_error', param: 'seed', code: null } } } as const;
  const toGroq = { model: 'openai/gpt-4o', messages: hello, seed: -1, fallback_models: ['groq/llama-3.3-70b-versatile'] };

  /** A gateway whose breaker for openai/gpt-4o is open, as after three failed requests. */
  function withPrimaryPaused(): TestGateway {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    breaker.recordFailure('openai/gpt-4o', Date.now());
    return testGateway(mocks.origins, { breaker });
  }

  it("the primary's breaker is open and the backup answers 400: the client gets that 400 with param, not a 502", async () => {
    await mocks.groq.script([badSeed]);
    const response = await withPrimaryPaused().fetch('/v1/chat/completions', chatInit(toGroq));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'seed', code: 'invalid_request' } });
    expect(response.headers.get('x-agent-attempts')).toBe('1');
    expect(response.headers.get('x-agent-model')).toBe('groq/llama-3.3-70b-versatile');
    expect(await mocks.openai.calls()).toHaveLength(0);
    expect(await mocks.groq.calls()).toHaveLength(1);
  });

  it('the primary answers 503 every time and the backup answers 400: 400 with param', async () => {
    await mocks.openai.setDefault({ kind: 'status', status: 503 });
    await mocks.groq.script([badSeed]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit(toGroq));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'seed' } });
    expect(response.headers.get('x-agent-attempts')).toBe('4');
  });

  it("the primary's breaker is open and the backup refuses our key: 502, the gateway's own fault, never a 401", async () => {
    await mocks.groq.script([{ kind: 'status', status: 401 }]);
    const response = await withPrimaryPaused().fetch('/v1/chat/completions', chatInit(toGroq));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_auth_failed', param: null } });
  });
});

describe('a non-streaming request is committed only when its answer is complete', () => {
  interface Completion {
    choices: Array<{ message: { content: string | null }; finish_reason: string }>;
    agent: { model_id: string; attempts: Array<{ model_id: string; status: number; error_type: string | null }> };
  }
  const attemptsOf = (body: Completion): Array<[string, number, string | null]> => body.agent.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type]);

  it('a primary whose stream fails mid-answer with an error event is retried, then the backup’s complete answer is the response', async () => {
    await mocks.openai.setDefault({ kind: 'stream', deltas: ['Half ', 'an ', 'answer'], errorAfter: 2 });
    await mocks.anthropic.script([{ kind: 'reply', content: 'Claude, in full' }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ ...withBackup, stream: false }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Completion;
    expect(body.choices[0]?.message.content).toBe('Claude, in full');
    expect(body.agent.model_id).toBe('anthropic/claude-sonnet-4-5');
    expect(attemptsOf(body)).toEqual([
      ['openai/gpt-4o', 502, 'upstream_stream_error'],
      ['openai/gpt-4o', 502, 'upstream_stream_error'],
      ['openai/gpt-4o', 502, 'upstream_stream_error'],
      ['anthropic/claude-sonnet-4-5', 200, null],
    ]);
    expect(response.headers.get('x-agent-attempts')).toBe('4');
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
  });

  it('a connection reset mid-answer is retried on the same provider, and only the second, whole answer is returned', async () => {
    await mocks.openai.script([
      { kind: 'stream', deltas: ['Cut ', 'off ', 'here'], cutAfter: 2 },
      { kind: 'reply', content: 'The whole answer' },
    ]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit(withBackup));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Completion;
    expect(body.choices[0]).toMatchObject({ message: { content: 'The whole answer' }, finish_reason: 'stop' });
    expect(attemptsOf(body)).toEqual([
      ['openai/gpt-4o', 502, 'upstream_stream_error'],
      ['openai/gpt-4o', 200, null],
    ]);
    expect(await mocks.anthropic.calls()).toHaveLength(0);
  });

  it('a primary that goes silent mid-answer hits the idle deadline, and the backup answers', async () => {
    const quick = testGateway(mocks.origins, { policy: fallbackPolicy({ idleTimeoutMs: 300 }) });
    await mocks.openai.setDefault({ kind: 'stream', deltas: ['Then ', 'silence'], stallAfter: 1 });
    await mocks.anthropic.script([{ kind: 'reply', content: 'Claude, in full' }]);
    const response = await quick.fetch('/v1/chat/completions', chatInit(withBackup));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Completion;
    expect(body.choices[0]?.message.content).toBe('Claude, in full');
    expect(attemptsOf(body)).toEqual([
      ['openai/gpt-4o', 504, 'idle_timeout'],
      ['anthropic/claude-sonnet-4-5', 200, null],
    ]);
    // The silent attempt was released, which the mock sees as the client closing.
    expect((await mocks.openai.waitForCalls({ count: 1, aborted: 1 }))[0]?.aborted).toBe(true);
  });

  it('the same failure on a streaming request is an in-band error after the first delta, and the backup is never asked', async () => {
    await mocks.openai.setDefault({ kind: 'stream', deltas: ['Half ', 'an ', 'answer'], errorAfter: 2 });
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ ...withBackup, stream: true }));
    expect(response.status).toBe(200);
    const { data } = await readSse(response);
    expect(data.at(-1)).not.toBe('[DONE]');
    expect(JSON.parse(data.at(-1) ?? '{}')).toMatchObject({ error: { code: 'upstream_stream_error' } });
    expect(await mocks.anthropic.calls()).toHaveLength(0);
  });
});
