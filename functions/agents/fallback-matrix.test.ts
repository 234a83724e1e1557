import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { parseModelName, type ModelName } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { classifyStreamError, classifyUpstreamError } from '../providers/shared/classify-upstream-error.ts';
import { unsupportedField } from '../providers/shared/unsupported-field.ts';
import { streamBroken, unreachable } from '../providers/shared/upstream-fetch.ts';
import { fallbackPolicy, type AgentResult } from './agent-types.ts';
import type { BaseAgent } from './base-agent.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { LocalAgent } from './local-agent.ts';
import { OnlineAgent } from './online-agent.ts';
import { answerEvents, drain, scriptedModel, type ScriptedBehavior, type ScriptedModel } from '../../tests/helpers/scripted-model.ts';

// Streaming, so the commit point is the first event; a non-streaming request's is its finish (commit-point.test.ts).
const request: ChatRequest = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true };

function name(full: string): ModelName {
  const parsed = parseModelName(full);
  if (!parsed) throw new Error(full);
  return parsed;
}

/** What the providers throw for an upstream answer with this status (their own classifier). */
function upstream(status: number, body = '', headers: Record<string, string> = {}): GatewayError {
  return classifyUpstreamError({ provider: 'openai', status, headers: new Headers(headers), bodyText: body }, { secrets: [], now: Date.now() });
}

const fail = (error: GatewayError): ScriptedBehavior => ({ kind: 'fail', error });
/** What the providers throw when nothing listens on the upstream's port. */
const refused = (): GatewayError => unreachable('openai', new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));

function chain(primaryBehaviors: ScriptedBehavior[], options: { attemptTimeoutMs?: number; backup?: ScriptedBehavior[] } = {}) {
  const primary = scriptedModel('openai/gpt-4o', primaryBehaviors);
  const backup = scriptedModel('anthropic/claude-sonnet-4-5', options.backup ?? [{ kind: 'answer', events: answerEvents('From the backup') }]);
  const models = new Map([primary, backup].map((model) => [model.modelId, model]));
  const agent = new OnlineAgent({
    primary: name(primary.modelId),
    backups: [name(backup.modelId)],
    resolveModel: (model) => {
      const found = models.get(model.full);
      return found && { model: found, backend: 'online', attemptTimeoutMs: options.attemptTimeoutMs ?? 10_000 };
    },
    deps: { ...defaultRuntimeDeps, random: () => 0.5 },
    policy: fallbackPolicy(),
    breaker: new CircuitBreaker(),
  });
  return { agent, primary, backup };
}

type Settled = { ok: true; result: AgentResult } | { ok: false; error: GatewayError };

/** Runs the agent to its commit point (or failure), letting fake time pass. */
async function settle(agent: BaseAgent, signal = new AbortController().signal): Promise<Settled> {
  const outcome = agent.run(request, signal).then(
    (result): Settled => ({ ok: true, result }),
    (error: unknown): Settled => ({ ok: false, error: error as GatewayError }),
  );
  await vi.runAllTimersAsync();
  return outcome;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('fallback matrix: what the primary does before its first event', () => {
  const rows: Array<{ failure: string; behavior: ScriptedBehavior; primaryCalls: number; backupCalls: number; status: number; code?: string }> = [
    { failure: '429 without Retry-After', behavior: fail(upstream(429)), primaryCalls: 3, backupCalls: 1, status: 200 },
    { failure: '429 with Retry-After: 2', behavior: fail(upstream(429, '', { 'retry-after': '2' })), primaryCalls: 3, backupCalls: 1, status: 200 },
    { failure: '429 with a Retry-After beyond the cap', behavior: fail(upstream(429, '', { 'retry-after': '60' })), primaryCalls: 1, backupCalls: 1, status: 200 },
    {
      failure: '429 for an exhausted spend limit',
      behavior: fail(upstream(429, JSON.stringify({ error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }))),
      primaryCalls: 1,
      backupCalls: 1,
      status: 200,
    },
    { failure: '500', behavior: fail(upstream(500)), primaryCalls: 3, backupCalls: 1, status: 200 },
    { failure: '502', behavior: fail(upstream(502)), primaryCalls: 3, backupCalls: 1, status: 200 },
    { failure: '503', behavior: fail(upstream(503)), primaryCalls: 3, backupCalls: 1, status: 200 },
    { failure: '529 overloaded', behavior: fail(upstream(529)), primaryCalls: 3, backupCalls: 1, status: 200 },
    // A target that is not listening is left at once while a backup remains (no retry, no backoff).
    { failure: 'a connect error (connection refused)', behavior: fail(refused()), primaryCalls: 1, backupCalls: 1, status: 200 },
    { failure: 'a connect error (DNS failure)', behavior: fail(unreachable('openai', new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }))), primaryCalls: 1, backupCalls: 1, status: 200 },
    { failure: 'a connect timeout', behavior: fail(unreachable('openai', new TypeError('fetch failed', { cause: { code: 'UND_ERR_CONNECT_TIMEOUT' } }))), primaryCalls: 3, backupCalls: 1, status: 200 },
    // A hung primary is not asked again while a backup could use the time.
    { failure: 'no first event within the per-attempt deadline', behavior: { kind: 'stall' }, primaryCalls: 1, backupCalls: 1, status: 200 },
    { failure: 'an in-band error before the first delta', behavior: fail(classifyStreamError('openai', { type: 'server_error', message: 'boom' }, false, [])), primaryCalls: 3, backupCalls: 1, status: 200 },
    { failure: '401 (a bad provider key)', behavior: fail(upstream(401)), primaryCalls: 1, backupCalls: 1, status: 200 },
    { failure: '403', behavior: fail(upstream(403)), primaryCalls: 1, backupCalls: 1, status: 200 },
    { failure: '400 (the caller\'s mistake)', behavior: fail(upstream(400, JSON.stringify({ error: { message: 'bad temperature', param: 'temperature' } }))), primaryCalls: 1, backupCalls: 0, status: 400, code: 'invalid_request' },
    { failure: '404 (no such model upstream)', behavior: fail(upstream(404)), primaryCalls: 1, backupCalls: 0, status: 404, code: 'model_not_found' },
    { failure: '422', behavior: fail(upstream(422)), primaryCalls: 1, backupCalls: 0, status: 422, code: 'invalid_request' },
  ];

  for (const row of rows) {
    it(`${row.failure}: the primary is called ${row.primaryCalls}×, the backup ${row.backupCalls}×, the client sees ${row.status}`, async () => {
      const { agent, primary, backup } = chain([row.behavior], { attemptTimeoutMs: 2_000 });
      const outcome = await settle(agent);
      expect(primary.calls).toHaveLength(row.primaryCalls);
      expect(backup.calls).toHaveLength(row.backupCalls);
      if (row.status === 200) {
        if (!outcome.ok) throw outcome.error;
        expect(outcome.result.metadata.model_id).toBe('anthropic/claude-sonnet-4-5');
        expect(outcome.result.metadata.attempts.map((attempt) => attempt.model_id)).toEqual([
          ...Array<string>(row.primaryCalls).fill('openai/gpt-4o'),
          'anthropic/claude-sonnet-4-5',
        ]);
        expect(outcome.result.metadata.attempts.at(-1)).toMatchObject({ status: 200, error_type: null });
        const { events, error } = await drain(outcome.result.events);
        expect(error).toBeUndefined();
        expect(events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('')).toBe('From the backup');
      } else {
        expect(outcome.ok).toBe(false);
        if (outcome.ok) return;
        expect(outcome.error.status).toBe(row.status);
        expect(outcome.error.code).toBe(row.code);
      }
      // Every failed attempt's upstream was released.
      for (const call of primary.calls) expect(call.signal.aborted).toBe(true);
    });
  }

  it('waits at least the Retry-After the provider asked for between retries', async () => {
    const { agent, primary } = chain([fail(upstream(429, '', { 'retry-after': '2' }))]);
    await settle(agent);
    const [first, second, third] = primary.callTimes;
    expect(primary.callTimes).toHaveLength(3);
    expect(second! - first!).toBeGreaterThanOrEqual(2_000);
    expect(third! - second!).toBeGreaterThanOrEqual(2_000);
  });

  it('succeeds on a retry of the primary without asking the backup', async () => {
    const { agent, primary, backup } = chain([fail(upstream(503)), { kind: 'answer', events: answerEvents('Second time lucky') }]);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    expect(primary.calls).toHaveLength(2);
    expect(backup.calls).toHaveLength(0);
    expect(outcome.result.metadata.attempts.map((attempt) => [attempt.status, attempt.error_type])).toEqual([
      [503, 'upstream_error'],
      [200, null],
    ]);
  });
});

describe('a primary that refuses connections', () => {
  function alone(behaviors: ScriptedBehavior[], backups: string[] = [], breaker = new CircuitBreaker()) {
    const primary = scriptedModel('openai/gpt-4o', behaviors);
    const others = backups.map((backup) => scriptedModel(backup, [{ kind: 'answer', events: answerEvents('From the backup') }]));
    const models = new Map([primary, ...others].map((model) => [model.modelId, model]));
    const agent = new OnlineAgent({
      primary: name(primary.modelId),
      backups: backups.map(name),
      resolveModel: (model) => ({ model: models.get(model.full) as ScriptedModel, backend: 'online', attemptTimeoutMs: 2_000 }),
      deps: { ...defaultRuntimeDeps, random: () => 0.5 },
      policy: fallbackPolicy(),
      breaker,
    });
    return { agent, primary, others };
  }

  it('is left for the backup at once, without waiting any backoff', async () => {
    const { agent, primary, backup } = chain([fail(refused())]);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    expect(backup.callTimes[0]! - primary.callTimes[0]!).toBe(0);
    expect(outcome.result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type])).toEqual([
      ['openai/gpt-4o', 502, 'upstream_unreachable'],
      ['anthropic/claude-sonnet-4-5', 200, null],
    ]);
  });

  it('is retried with backoff as before when nothing is left to fall back to', async () => {
    const { agent, primary } = alone([fail(refused())]);
    const outcome = await settle(agent);
    expect(primary.calls).toHaveLength(3);
    expect(primary.callTimes[1]! - primary.callTimes[0]!).toBeGreaterThan(0);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ status: 502, code: 'upstream_unreachable' });
  });

  it('is retried when it came back on a retry, if the only backup is paused by its breaker', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    breaker.recordFailure('groq/llama-3.3-70b', Date.now());
    const { agent, primary, others } = alone([fail(refused()), { kind: 'answer', events: answerEvents('Back again') }], ['groq/llama-3.3-70b'], breaker);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    expect(primary.calls).toHaveLength(2);
    expect(others[0]?.calls).toHaveLength(0);
    expect(outcome.result.metadata.model_id).toBe('openai/gpt-4o');
  });

  it('counts once against its breaker per request, as any other failed request', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const { agent } = alone([fail(refused())], ['anthropic/claude-sonnet-4-5'], breaker);
    await settle(agent);
    expect(breaker.stateOf('openai/gpt-4o')).toBe('closed');
    await settle(agent);
    expect(breaker.stateOf('openai/gpt-4o')).toBe('open');
  });
});

describe('after the first event is committed', () => {
  it('a stream cut after 3 deltas ends in an error from the events, and the backup is never called', async () => {
    const cut = streamBroken('openai', true, 'broke off');
    const { agent, primary, backup } = chain([{ kind: 'fail-after', events: answerEvents('one two three four').slice(0, 3), error: cut }]);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.result.metadata.model_id).toBe('openai/gpt-4o');
    const { events, error } = await drain(outcome.result.events);
    expect(events).toHaveLength(3);
    expect(GatewayError.isInstance(error) && error.code).toBe('upstream_stream_error');
    expect(primary.calls).toHaveLength(1);
    expect(backup.calls).toHaveLength(0);
    expect(primary.calls[0]?.signal.aborted).toBe(true);
  });

  it('a stream that ends without its finish event is an error, never a clean end', async () => {
    const { agent } = chain([{ kind: 'answer', events: answerEvents('no finish').slice(0, 2) }]);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    const { error } = await drain(outcome.result.events);
    expect(GatewayError.isInstance(error) && error.status).toBe(502);
  });
});

describe('when nothing can serve', () => {
  it('answers 502 listing every attempt, with the last error code', async () => {
    const { agent } = chain([fail(upstream(503))], { backup: [fail(upstream(401))] });
    const outcome = await settle(agent);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.status).toBe(502);
    expect(outcome.error.code).toBe('upstream_auth_failed');
    expect(outcome.error.message).toContain('openai/gpt-4o: 503 upstream_error; openai/gpt-4o: 503 upstream_error; openai/gpt-4o: 503 upstream_error; anthropic/claude-sonnet-4-5: 401 upstream_auth_failed');
  });
});

describe('when a backup refuses the request', () => {
  function threeDeep(primary: ScriptedBehavior[], firstBackup: ScriptedBehavior[], lastBackup: ScriptedBehavior[] = [{ kind: 'answer', events: answerEvents('From the last backup') }]) {
    const models = [
      scriptedModel('openai/gpt-4o', primary),
      scriptedModel('groq/llama-3.3-70b', firstBackup),
      scriptedModel('local/llama', lastBackup),
    ];
    const byName = new Map(models.map((model) => [model.modelId, model]));
    const agent = new OnlineAgent({
      primary: name('openai/gpt-4o'),
      backups: [name('groq/llama-3.3-70b'), name('local/llama')],
      resolveModel: (model) => ({ model: byName.get(model.full) as ScriptedModel, backend: model.transport, attemptTimeoutMs: 2_000 }),
      deps: { ...defaultRuntimeDeps, random: () => 0.5 },
      policy: fallbackPolicy(),
      breaker: new CircuitBreaker(),
    });
    return { agent, models };
  }

  it('a backup that answers 400 for any reason but the prompt’s length is skipped, and the next backup serves', async () => {
    const badRequest = upstream(400, JSON.stringify({ error: { message: "'response_format' json_schema is not supported", param: 'response_format' } }));
    const { agent, models } = threeDeep([fail(upstream(503))], [fail(badRequest)]);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.result.metadata.model_id).toBe('local/llama');
    expect(outcome.result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status])).toEqual([
      ['openai/gpt-4o', 503],
      ['openai/gpt-4o', 503],
      ['openai/gpt-4o', 503],
      ['groq/llama-3.3-70b', 400],
      ['local/llama', 200],
    ]);
    expect(models[2]?.calls).toHaveLength(1);
  });

  it('a backup that says the prompt is too long for its context answers the client with that 400 at once', async () => {
    const tooLong = upstream(400, JSON.stringify({ error: { message: 'This model’s maximum context length is 8192 tokens', code: 'context_length_exceeded' } }));
    const { agent, models } = threeDeep([fail(upstream(503))], [fail(tooLong)]);
    const outcome = await settle(agent);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(models[2]?.calls).toHaveLength(0);
  });

  it('an offline local backup is tried once, never retried, by the OnlineAgent too', async () => {
    // As the tunnel throws it: retryable, since another model may serve.
    const offline = tunnelError('bridge_offline', 'No bridge is connected');
    const { agent, models } = threeDeep([fail(upstream(401))], [fail(upstream(401))], [fail(offline)]);
    const outcome = await settle(agent);
    expect(models[2]?.calls).toHaveLength(1);
    expect(outcome.ok).toBe(false);
  });
});

describe('the status when nothing can serve', () => {
  it('is 429 with the shortest Retry-After asked for when every model refused for load', async () => {
    const { agent } = chain([fail(upstream(429, '', { 'retry-after': '3' }))], { backup: [fail(upstream(429, '', { 'retry-after': '60' }))] });
    const outcome = await settle(agent);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ status: 429, type: 'rate_limit_error', code: 'rate_limited', retryAfterMs: 3_000 });
    expect(outcome.error.message).toContain('anthropic/claude-sonnet-4-5: 429 rate_limited');
  });

  it('is 504 when every attempt timed out', async () => {
    const { agent } = chain([{ kind: 'stall' }], { attemptTimeoutMs: 2_000, backup: [{ kind: 'stall' }] });
    const outcome = await settle(agent);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ status: 504, type: 'timeout_error', code: 'attempt_timeout' });
  });

  it('stays 502 when the failures were of different kinds', async () => {
    const { agent } = chain([fail(upstream(429))], { backup: [fail(upstream(500))] });
    const outcome = await settle(agent);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ status: 502, type: 'upstream_error' });
  });
});

describe("the caller's fault stays the caller's, whichever candidate said it", () => {
  const badSeed = (): GatewayError => upstream(400, JSON.stringify({ error: { message: 'Invalid value for seed', type: 'invalid_request_error', param: 'seed' } }));
  const answers = (text: string): ScriptedBehavior => ({ kind: 'answer', events: answerEvents(text) });

  /** The primary, then each backup, with a breaker that may start with some of them open. */
  function chainOf(behaviors: Record<string, ScriptedBehavior[]>, open: string[] = []) {
    const models = Object.entries(behaviors).map(([modelId, scripted]) => scriptedModel(modelId, scripted));
    const byName = new Map(models.map((model) => [model.modelId, model]));
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    for (const target of open) breaker.recordFailure(target, Date.now());
    const [primary, ...backups] = models.map((model) => name(model.modelId));
    const Agent = primary?.transport === 'local' ? LocalAgent : OnlineAgent;
    const agent = new Agent({
      primary: primary as ModelName,
      backups,
      resolveModel: (model) => ({ model: byName.get(model.full) as ScriptedModel, backend: model.transport, attemptTimeoutMs: 2_000 }),
      deps: { ...defaultRuntimeDeps, random: () => 0.5 },
      policy: fallbackPolicy(),
      breaker,
    });
    return { agent, models: byName };
  }

  const rows: Array<{ what: string; behaviors: Record<string, ScriptedBehavior[]>; open?: string[]; status: number; code: string; param?: string | null }> = [
    {
      what: "the primary's breaker is open and the backup answers 400",
      behaviors: { 'openai/gpt-4o': [answers('never asked')], 'groq/llama-3.3-70b': [fail(badSeed())] },
      open: ['openai/gpt-4o'],
      status: 400,
      code: 'invalid_request',
      param: 'seed',
    },
    {
      what: 'the primary answers 503 every time and the backup answers 400',
      behaviors: { 'openai/gpt-4o': [fail(upstream(503))], 'groq/llama-3.3-70b': [fail(badSeed())] },
      status: 400,
      code: 'invalid_request',
      param: 'seed',
    },
    {
      what: 'the primary is rate limited every time and the backup answers 400',
      behaviors: { 'openai/gpt-4o': [fail(upstream(429))], 'groq/llama-3.3-70b': [fail(badSeed())] },
      status: 400,
      code: 'invalid_request',
      param: 'seed',
    },
    {
      what: 'the local primary has no bridge and the backup answers 400',
      behaviors: { 'local/llama': [fail(tunnelError('bridge_offline', 'No bridge is connected'))], 'groq/llama-3.3-70b': [fail(badSeed())] },
      status: 400,
      code: 'invalid_request',
      param: 'seed',
    },
    {
      what: 'the primary hangs and the backup does not know its model (404)',
      behaviors: { 'openai/gpt-4o': [{ kind: 'stall' }], 'groq/llama-3.3-70b': [fail(upstream(404))] },
      status: 404,
      code: 'model_not_found',
    },
    {
      what: "a backup answers 400 and the next one's key is refused: the 400 is still the answer",
      behaviors: { 'openai/gpt-4o': [fail(upstream(503))], 'groq/llama-3.3-70b': [fail(badSeed())], 'anthropic/claude-sonnet-4-5': [fail(upstream(401))] },
      status: 400,
      code: 'invalid_request',
      param: 'seed',
    },
    {
      what: "the primary answers 503 every time and the backup cannot take a field the request uses: the primary's 503, a retry can succeed",
      behaviors: { 'openai/gpt-4o': [fail(upstream(503))], 'groq/llama-3.3-70b': [fail(unsupportedField('groq', 'logprobs'))] },
      status: 502,
      code: 'upstream_error',
      param: null,
    },
    {
      what: 'the primary is rate limited every time and the backup cannot take a field: the 429',
      behaviors: { 'openai/gpt-4o': [fail(upstream(429))], 'groq/llama-3.3-70b': [fail(unsupportedField('groq', 'logprobs'))] },
      status: 429,
      code: 'rate_limited',
      param: null,
    },
    {
      what: 'the primary refuses our key (401) and the backup cannot take a field: the field, which the client can act on',
      behaviors: { 'openai/gpt-4o': [fail(upstream(401))], 'groq/llama-3.3-70b': [fail(unsupportedField('groq', 'logprobs'))] },
      status: 400,
      code: 'unsupported_parameter',
      param: 'logprobs',
    },
    {
      what: 'every model cannot take a field the request uses: the first one that said so',
      behaviors: { 'openai/gpt-4o': [fail(unsupportedField('openai', 'top_k'))], 'groq/llama-3.3-70b': [fail(unsupportedField('groq', 'top_k'))] },
      status: 400,
      code: 'unsupported_parameter',
      param: 'top_k',
    },
    {
      what: "the primary's breaker is open and the backup refuses our key (401): the gateway's fault, not the caller's",
      behaviors: { 'openai/gpt-4o': [answers('never asked')], 'groq/llama-3.3-70b': [fail(upstream(401))] },
      open: ['openai/gpt-4o'],
      status: 502,
      code: 'upstream_auth_failed',
      param: null,
    },
    {
      what: "the primary's breaker is open and the backup answers 403",
      behaviors: { 'openai/gpt-4o': [answers('never asked')], 'groq/llama-3.3-70b': [fail(upstream(403))] },
      open: ['openai/gpt-4o'],
      status: 502,
      code: 'upstream_auth_failed',
      param: null,
    },
  ];

  for (const row of rows) {
    it(`${row.what}: ${row.status} ${row.code}`, async () => {
      const { agent } = chainOf(row.behaviors, row.open);
      const outcome = await settle(agent);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error).toMatchObject({ status: row.status, code: row.code });
      if (row.param !== undefined) expect(outcome.error.param).toBe(row.param);
      // Whatever the answer, it says what was tried.
      expect(outcome.error.agent?.attempts.length).toBeGreaterThan(0);
    });
  }

  it('a 400 from the only backup that was asked keeps its message and lists the attempts', async () => {
    const { agent, models } = chainOf({ 'openai/gpt-4o': [answers('never asked')], 'groq/llama-3.3-70b': [fail(badSeed())] }, ['openai/gpt-4o']);
    const outcome = await settle(agent);
    if (outcome.ok) throw new Error('expected a failure');
    expect(outcome.error.type).toBe('invalid_request_error');
    expect(outcome.error.message).toContain('Invalid value for seed');
    expect(outcome.error.message).toContain('openai/gpt-4o: - circuit_open; groq/llama-3.3-70b: 400 invalid_request');
    expect(models.get('openai/gpt-4o')?.calls).toHaveLength(0);
    expect(models.get('groq/llama-3.3-70b')?.calls).toHaveLength(1);
  });

  it('a backup that refuses is still skipped when a later one serves', async () => {
    const { agent } = chainOf({ 'openai/gpt-4o': [answers('never asked')], 'groq/llama-3.3-70b': [fail(badSeed())], 'anthropic/claude-sonnet-4-5': [answers('From the last backup')] }, ['openai/gpt-4o']);
    const outcome = await settle(agent);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.result.metadata.model_id).toBe('anthropic/claude-sonnet-4-5');
  });
});
