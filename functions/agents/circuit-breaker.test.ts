import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { parseModelName, type ModelName } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { fallbackPolicy } from './agent-types.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { unsupportedField } from '../providers/shared/unsupported-field.ts';
import { LocalAgent } from './local-agent.ts';
import { OnlineAgent } from './online-agent.ts';
import { answerEvents, drain, scriptedModel, type ScriptedModel } from '../../tests/helpers/scripted-model.ts';

describe('circuit breaker states', () => {
  it('opens after three consecutive failures, lets one probe through after the cool-down, and closes when it succeeds', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 30_000 });
    const target = 'openai/gpt-4o';
    breaker.recordFailure(target, 0);
    breaker.recordFailure(target, 0);
    expect(breaker.allow(target, 0)).toEqual({ allowed: true });
    breaker.recordFailure(target, 1_000);
    expect(breaker.stateOf(target)).toBe('open');
    expect(breaker.allow(target, 11_000)).toEqual({ allowed: false, retryAfterMs: 20_000 });
    expect(breaker.allow(target, 31_000)).toEqual({ allowed: true });
    expect(breaker.stateOf(target)).toBe('half-open');
    expect(breaker.allow(target, 31_001).allowed).toBe(false); // one probe at a time
    breaker.recordSuccess(target);
    expect(breaker.stateOf(target)).toBe('closed');
    expect(breaker.allow(target, 31_002)).toEqual({ allowed: true });
  });

  it('answers whether a target could be tried without claiming its half-open probe', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 10_000 });
    const target = 'xai/grok-4';
    expect(breaker.wouldAllow(target, 0)).toBe(true);
    breaker.recordFailure(target, 0);
    expect(breaker.wouldAllow(target, 9_999)).toBe(false);
    expect(breaker.wouldAllow(target, 10_000)).toBe(true);
    expect(breaker.stateOf(target)).toBe('open');
    expect(breaker.allow(target, 10_000)).toEqual({ allowed: true });
    expect(breaker.wouldAllow(target, 10_001)).toBe(false);
  });

  it('opens again for a whole cool-down when the probe fails', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 10_000 });
    breaker.recordFailure('groq/llama', 0);
    expect(breaker.allow('groq/llama', 10_000).allowed).toBe(true);
    breaker.recordFailure('groq/llama', 10_000);
    expect(breaker.allow('groq/llama', 19_999)).toEqual({ allowed: false, retryAfterMs: 1 });
  });

  it('a success between failures resets the count', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 10_000 });
    breaker.recordFailure('xai/grok', 0);
    breaker.recordSuccess('xai/grok');
    breaker.recordFailure('xai/grok', 0);
    expect(breaker.stateOf('xai/grok')).toBe('closed');
  });

  it('frees the probe slot when the probing client went away', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 10_000 });
    breaker.recordFailure('xai/grok', 0);
    expect(breaker.allow('xai/grok', 10_000).allowed).toBe(true);
    breaker.recordAbandoned('xai/grok', 10_001);
    expect(breaker.allow('xai/grok', 10_002).allowed).toBe(true);
  });
});

describe('an agent with an open breaker', () => {
  const request: ChatRequest = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hi' }] };
  const name = (full: string): ModelName => parseModelName(full) as ModelName;
  const down = new GatewayError({ status: 503, type: 'upstream_error', code: 'upstream_error', message: 'openai: down', retryable: true });
  let breaker: CircuitBreaker;
  let primary: ScriptedModel;
  let backup: ScriptedModel;

  function agent(): OnlineAgent {
    const models = new Map([primary, backup].map((model) => [model.modelId, model]));
    return new OnlineAgent({
      primary: name('openai/gpt-4o'),
      backups: [name('groq/llama-3.3-70b')],
      resolveModel: (model) => ({ model: models.get(model.full) as ScriptedModel, backend: 'online', attemptTimeoutMs: 5_000 }),
      deps: { ...defaultRuntimeDeps, random: () => 0 },
      policy: fallbackPolicy(),
      breaker,
    });
  }

  beforeEach(() => {
    vi.useFakeTimers();
    breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 30_000 });
    // Three requests of three attempts each: nine failures, then the provider recovers.
    primary = scriptedModel('openai/gpt-4o', [...Array.from({ length: 9 }, () => ({ kind: 'fail' as const, error: down })), { kind: 'answer', events: answerEvents('Back again') }]);
    backup = scriptedModel('groq/llama-3.3-70b', [{ kind: 'answer', events: answerEvents('Backup') }]);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function serve(): Promise<{ model: string; attempts: Array<[string, string | null]> }> {
    const pending = agent().run(request, new AbortController().signal);
    await vi.runAllTimersAsync();
    const result = await pending;
    await drain(result.events);
    return { model: result.metadata.model_id, attempts: result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.error_type]) };
  }

  it('skips the dead provider without calling it, shows circuit_open in the attempts, and probes it again after the cool-down', async () => {
    expect((await serve()).model).toBe('groq/llama-3.3-70b');
    expect((await serve()).model).toBe('groq/llama-3.3-70b');
    expect(breaker.stateOf('openai/gpt-4o')).toBe('closed'); // one failure per request, not per retry
    expect((await serve()).model).toBe('groq/llama-3.3-70b'); // the third failed request opens it
    expect(primary.calls).toHaveLength(9);

    const skipped = await serve();
    expect(primary.calls).toHaveLength(9); // not called at all
    expect(skipped.attempts).toEqual([
      ['openai/gpt-4o', 'circuit_open'],
      ['groq/llama-3.3-70b', null],
    ]);

    vi.advanceTimersByTime(30_000);
    const probed = await serve();
    expect(probed.model).toBe('openai/gpt-4o');
    expect(primary.calls).toHaveLength(10);
    expect(breaker.stateOf('openai/gpt-4o')).toBe('closed');
  });
});

describe('failures that say nothing about the target’s health', () => {
  const ask: ChatRequest = { model: 'local/llama', messages: [{ role: 'user', content: 'Hi' }] };
  const name = (full: string): ModelName => parseModelName(full) as ModelName;

  function localAgent(model: ScriptedModel, breaker: CircuitBreaker): LocalAgent {
    return new LocalAgent({
      primary: name('local/llama'),
      resolveModel: () => ({ model, backend: 'local', attemptTimeoutMs: 5_000 }),
      deps: { ...defaultRuntimeDeps, random: () => 0 },
      policy: fallbackPolicy(),
      breaker,
    });
  }

  async function outcome(agent: LocalAgent): Promise<{ served: string } | { status: number; code: string | null }> {
    const pending = agent.run(ask, new AbortController().signal).then(
      (result) => ({ served: result.metadata.model_id }),
      (error: GatewayError) => ({ status: error.status, code: error.code }),
    );
    await vi.runAllTimersAsync();
    return pending;
  }

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('five requests while the bridge is offline are all bridge_offline (never circuit_open), and the next is served once the model answers', async () => {
    const offline = tunnelError('bridge_offline', 'No bridge is connected');
    const local = scriptedModel('local/llama', [...Array.from({ length: 5 }, () => ({ kind: 'fail' as const, error: offline })), { kind: 'answer', events: answerEvents('Back') }]);
    const breaker = new CircuitBreaker();
    const agent = localAgent(local, breaker);
    for (let request = 0; request < 5; request++) expect(await outcome(agent)).toEqual({ status: 503, code: 'bridge_offline' });
    expect(breaker.stateOf('local/llama')).toBe('closed');
    expect(await outcome(agent)).toEqual({ served: 'local/llama' });
    expect(local.calls).toHaveLength(6);
  });

  it('a bridge that stops answering gives 503 bridge_unresponsive once per request, with no retry, and never pauses the model', async () => {
    const stuck = tunnelError('bridge_unresponsive', 'The bridge did not acknowledge the request');
    const local = scriptedModel('local/llama', [...Array.from({ length: 6 }, () => ({ kind: 'fail' as const, error: stuck })), { kind: 'answer', events: answerEvents('Awake') }]);
    const breaker = new CircuitBreaker();
    const agent = localAgent(local, breaker);
    for (let request = 0; request < 6; request++) expect(await outcome(agent)).toEqual({ status: 503, code: 'bridge_unresponsive' });
    // One call per request: a retry on the same silent bridge would only be refused again.
    expect(local.calls).toHaveLength(6);
    expect(breaker.stateOf('local/llama')).toBe('closed');
    expect(await outcome(agent)).toEqual({ served: 'local/llama' });
  });

  it("a bridge whose queue is full (busy) answers 429 every time and never pauses the model", async () => {
    const busy = tunnelError('busy', 'The bridge queue is full');
    const local = scriptedModel('local/llama', [...Array.from({ length: 12 }, () => ({ kind: 'fail' as const, error: busy })), { kind: 'answer', events: answerEvents('Free again') }]);
    const breaker = new CircuitBreaker();
    const agent = localAgent(local, breaker);
    for (let request = 0; request < 4; request++) expect(await outcome(agent)).toEqual({ status: 429, code: 'busy' });
    expect(breaker.stateOf('local/llama')).toBe('closed');
    expect(await outcome(agent)).toEqual({ served: 'local/llama' });
  });

  it('a refusal the gateway made before calling a backup does not close its breaker; a refusal the backup sent does', async () => {
    const keyRevoked = new GatewayError({ status: 401, type: 'upstream_error', code: 'upstream_auth_failed', message: 'openai: bad key' });
    const refusedHere = unsupportedField('anthropic', 'logprobs');
    const refusedThere = new GatewayError({ status: 400, type: 'invalid_request_error', code: 'invalid_request', message: 'anthropic: bad', callerFault: true });
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 10_000 });
    const backupId = 'anthropic/claude-sonnet-4-5';

    async function probeWith(refusal: GatewayError): Promise<void> {
      breaker.recordFailure(backupId, Date.now());
      vi.advanceTimersByTime(10_000); // cooled down: the next request probes the backup
      const primary = scriptedModel('openai/gpt-4o', [{ kind: 'fail', error: keyRevoked }]);
      const backup = scriptedModel(backupId, [{ kind: 'fail', error: refusal }]);
      const models = new Map([primary, backup].map((model) => [model.modelId, model]));
      const agent = new OnlineAgent({
        primary: name(primary.modelId),
        backups: [name(backupId)],
        resolveModel: (model) => ({ model: models.get(model.full) as ScriptedModel, backend: 'online', attemptTimeoutMs: 5_000 }),
        deps: defaultRuntimeDeps,
        policy: fallbackPolicy(),
        breaker,
      });
      const pending = agent.run({ ...ask, model: primary.modelId }, new AbortController().signal).catch(() => undefined);
      await vi.runAllTimersAsync();
      await pending;
      expect(backup.calls).toHaveLength(1);
    }

    await probeWith(refusedHere);
    expect(breaker.stateOf(backupId)).toBe('open'); // not proven alive, but the probe slot is free again
    expect(breaker.allow(backupId, Date.now()).allowed).toBe(true);
    breaker.recordAbandoned(backupId, Date.now());
    await probeWith(refusedThere);
    expect(breaker.stateOf(backupId)).toBe('closed');
  });
});
