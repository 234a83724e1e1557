import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { parseModelName, type ModelName } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { HEARTBEAT_MISSED_MS, HEARTBEAT_SEC, PROGRESS_EVERY_MS } from '../../protocol/tunnel-frames.ts';
import { DEFAULT_FALLBACK_POLICY, fallbackPolicy, type FallbackPolicy } from './agent-types.ts';
import { LOCAL_ATTEMPT_TIMEOUT_MS } from './factory.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { OnlineAgent } from './online-agent.ts';
import { answerEvents, drain, scriptedModel, type ScriptedBehavior, type ScriptedModel } from '../../tests/helpers/scripted-model.ts';

// Streaming: the commit point is the first event, and the idle deadline runs after it (non-streaming: commit-point.test.ts).
const request: ChatRequest = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true };
const name = (full: string): ModelName => parseModelName(full) as ModelName;

function setup(primaryBehaviors: ScriptedBehavior[], policy: Partial<FallbackPolicy>, attemptTimeoutMs = 5_000, backupBehaviors: ScriptedBehavior[] | null = [{ kind: 'stall' }]) {
  const primary = scriptedModel('openai/gpt-4o', primaryBehaviors);
  const backup = scriptedModel('xai/grok-4', backupBehaviors ?? []);
  const models = new Map<string, ScriptedModel>([primary, backup].map((model) => [model.modelId, model]));
  const agent = new OnlineAgent({
    primary: name(primary.modelId),
    backups: backupBehaviors ? [name(backup.modelId)] : [],
    resolveModel: (model) => ({ model: models.get(model.full) as ScriptedModel, backend: 'online', attemptTimeoutMs }),
    deps: { ...defaultRuntimeDeps, random: () => 0 },
    policy: fallbackPolicy(policy),
    breaker: new CircuitBreaker({ failureThreshold: 100 }),
  });
  return { agent, primary, backup };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('deadlines', () => {
  it('gives up with 504 when the overall deadline passes before any model answers, listing the attempts', async () => {
    const { agent, primary, backup } = setup([{ kind: 'stall' }], { overallTimeoutMs: 12_000, minAttemptMs: 1_000 });
    const started = Date.now();
    const failure = agent.run(request, new AbortController().signal).then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as GatewayError);
    await vi.runAllTimersAsync();
    const error = await failure;
    expect(error.status).toBe(504);
    expect(error.code).toBe('deadline_exceeded');
    expect(Date.now() - started).toBe(12_000);
    // The hung primary is not retried while the backup could use the time; the
    // backup, last in line, is retried in what is left, its attempt cut to fit.
    expect(primary.callTimes.map((time) => time - started)).toEqual([0]);
    expect(backup.callTimes.map((time) => time - started)).toEqual([5_000, 10_000]);
    expect(error.message).toContain('openai/gpt-4o: 504 attempt_timeout');
    for (const call of [...primary.calls, ...backup.calls]) expect(call.signal.aborted).toBe(true);
  });

  it('ends each attempt at the per-attempt deadline and moves on; when every attempt timed out the client sees 504', async () => {
    const { agent, primary, backup } = setup([{ kind: 'stall' }], { backoff: { baseMs: 250, capMs: 4_000, maxRetries: 0 } }, 3_000);
    const started = Date.now();
    const failure = agent.run(request, new AbortController().signal).then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as GatewayError);
    await vi.runAllTimersAsync();
    const error = await failure;
    expect(primary.callTimes.map((time) => time - started)).toEqual([0]);
    expect(backup.callTimes.map((time) => time - started)).toEqual([3_000]);
    expect(error).toMatchObject({ status: 504, type: 'timeout_error', code: 'attempt_timeout' });
    expect(error.message).toContain('openai/gpt-4o: 504 attempt_timeout; xai/grok-4: 504 attempt_timeout');
  });

  it('a primary that hangs for its whole attempt leaves the backup time to serve before the overall deadline', async () => {
    // The defaults: 120 s overall, 60 s per attempt, 2 retries.
    const { agent, primary, backup } = setup([{ kind: 'stall' }], {}, 60_000, [{ kind: 'answer', events: answerEvents('From the backup') }]);
    const started = Date.now();
    const pending = agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(60_000);
    const result = await pending;
    expect(result.metadata.model_id).toBe('xai/grok-4');
    expect(Date.now() - started).toBe(60_000);
    expect(primary.calls).toHaveLength(1);
    expect(backup.callTimes.map((time) => time - started)).toEqual([60_000]);
    expect(result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.error_type])).toEqual([
      ['openai/gpt-4o', 'attempt_timeout'],
      ['xai/grok-4', null],
    ]);
    expect((await drain(result.events)).error).toBeUndefined();
  });

  it('does not start a retry that the time left could not fit, answering at once instead', async () => {
    const busy = new GatewayError({ status: 503, type: 'upstream_error', code: 'upstream_error', message: 'openai: busy', retryable: true, retryAfterMs: 8_000 });
    const { agent, primary } = setup([{ kind: 'fail', error: busy }], { overallTimeoutMs: 20_000 }, 5_000, null);
    const started = Date.now();
    const failure = agent.run(request, new AbortController().signal).then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as GatewayError);
    await vi.runAllTimersAsync();
    const error = await failure;
    // A second retry would wait 8 s at 8 s, leaving 4 s: less than a 5 s attempt.
    expect(primary.callTimes.map((time) => time - started)).toEqual([0, 8_000]);
    expect(error).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(Date.now() - started).toBe(8_000);
  });

  it('fails a committed stream that stays silent longer than the idle deadline, and aborts its upstream', async () => {
    const { agent, primary } = setup([{ kind: 'stall', events: answerEvents('partial answer').slice(0, 1) }], { idleTimeoutMs: 30_000 });
    const pending = agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(0);
    const result = await pending;
    const drained = drain(result.events);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(primary.calls[0]?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const { events, error } = await drained;
    expect(events).toHaveLength(1);
    expect(GatewayError.isInstance(error) && error.code).toBe('idle_timeout');
    expect(primary.calls[0]?.signal.aborted).toBe(true);
  });

  it('the overall deadline does not cut a stream that already committed', async () => {
    const slow: ScriptedBehavior = { kind: 'stall', events: answerEvents('hello').slice(0, 1) };
    const { agent, primary } = setup([slow], { overallTimeoutMs: 1_000, idleTimeoutMs: 60_000 });
    const result = await agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(primary.calls[0]?.signal.aborted).toBe(false);
    await result.events[Symbol.asyncIterator]().return?.();
    expect(primary.calls[0]?.signal.aborted).toBe(true);
  });
});

describe('cancellation', () => {
  it('a client that leaves before the first event aborts the upstream call and tries nothing else', async () => {
    const { agent, primary, backup } = setup([{ kind: 'stall' }], {});
    const client = new AbortController();
    const failure = agent.run(request, client.signal).then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as GatewayError);
    await vi.advanceTimersByTimeAsync(100);
    client.abort();
    const error = await failure;
    expect(primary.calls[0]?.signal.aborted).toBe(true);
    expect(backup.calls).toHaveLength(0);
    expect(error.code).toBe('client_closed_request');
  });

  it('a client that leaves mid-stream aborts the upstream call', async () => {
    const { agent, primary } = setup([{ kind: 'stall', events: answerEvents('a b c').slice(0, 2) }], {});
    const client = new AbortController();
    const result = await agent.run(request, client.signal);
    const iterator = result.events[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    const third = iterator.next();
    client.abort();
    await expect(third).rejects.toMatchObject({ code: 'client_closed_request' });
    expect(primary.calls[0]?.signal.aborted).toBe(true);
  });

  it('a client that stops reading (return) aborts the upstream at once, even with a read pending', async () => {
    const { agent, primary } = setup([{ kind: 'stall', events: answerEvents('a b').slice(0, 1) }], {});
    const result = await agent.run(request, new AbortController().signal);
    const iterator = result.events[Symbol.asyncIterator]();
    await iterator.next();
    const pendingRead = iterator.next();
    await iterator.return?.();
    expect(primary.calls[0]?.signal.aborted).toBe(true);
    await expect(pendingRead).rejects.toMatchObject({ code: 'client_closed_request' });
  });
});

describe('the tunnel keep-alive and the deadlines it must beat', () => {
  it('sends progress well inside the idle and attempt deadlines, and the heartbeat is missed only after a heartbeat plus slack', () => {
    // Two keep-alives can be late or lost and the stream still stays inside the deadline.
    expect(PROGRESS_EVERY_MS * 3).toBeLessThan(DEFAULT_FALLBACK_POLICY.idleTimeoutMs);
    expect(PROGRESS_EVERY_MS * 3).toBeLessThan(LOCAL_ATTEMPT_TIMEOUT_MS);
    expect(HEARTBEAT_MISSED_MS).toBeGreaterThan(HEARTBEAT_SEC * 1000);
  });
});
