import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { parseModelName, type ModelName } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { gatewayErrorFromTunnel } from '../../protocol/tunnel-errors.ts';
import { classifyStreamError } from '../providers/shared/classify-upstream-error.ts';
import { streamBroken } from '../providers/shared/upstream-fetch.ts';
import { fallbackPolicy } from './agent-types.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { LOCAL_ATTEMPT_TIMEOUT_MS } from './factory.ts';
import { LocalAgent } from './local-agent.ts';
import { answerEvents, drain, scriptedModel, type ScriptedBehavior, type ScriptedModel } from '../../tests/helpers/scripted-model.ts';

// Streaming: its commit point is the first event. A non-streaming request's is its finish (below).
const request: ChatRequest = { model: 'local/llama', messages: [{ role: 'user', content: 'Hi' }], stream: true };
const unstreamed: ChatRequest = { ...request, stream: false };
const name = (full: string): ModelName => parseModelName(full) as ModelName;
const loading = (done: number): ChatEvent => ({ type: 'progress', phase: 'load', done, total: 100 });

function localChain(localBehaviors: ScriptedBehavior[], backupBehaviors?: ScriptedBehavior[]) {
  const local = scriptedModel('local/llama', localBehaviors);
  const backup = scriptedModel('openai/gpt-4o-mini', backupBehaviors ?? []);
  const models = new Map<string, ScriptedModel>([local, backup].map((model) => [model.modelId, model]));
  const agent = new LocalAgent({
    primary: name(local.modelId),
    backups: backupBehaviors ? [name(backup.modelId)] : [],
    resolveModel: (model) => ({
      model: models.get(model.full) as ScriptedModel,
      backend: model.transport,
      attemptTimeoutMs: model.transport === 'local' ? LOCAL_ATTEMPT_TIMEOUT_MS : 10_000,
    }),
    deps: { ...defaultRuntimeDeps, random: () => 0 },
    policy: fallbackPolicy(),
    breaker: new CircuitBreaker(),
  });
  return { agent, local, backup };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the commit point while backups remain', () => {
  it('a local model that reports load progress and then fails to load falls back to the backup, whose answer alone reaches the client', async () => {
    const loadFailed = gatewayErrorFromTunnel({ code: 'load_failed', message: 'mlx: could not load the weights', retryable: false });
    const { agent, local, backup } = localChain(
      [{ kind: 'fail-after', events: [loading(10), loading(40)], error: loadFailed }],
      [{ kind: 'answer', events: answerEvents('From the cloud') }],
    );
    const pending = agent.run(request, new AbortController().signal);
    await vi.runAllTimersAsync();
    const result = await pending;
    expect(result.metadata).toMatchObject({ backend: 'online', model_id: 'openai/gpt-4o-mini' });
    expect(result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type])).toEqual([
      ['local/llama', 502, 'load_failed'],
      ['openai/gpt-4o-mini', 200, null],
    ]);
    const { events, error } = await drain(result.events);
    expect(error).toBeUndefined();
    expect(events.some((event) => event.type === 'progress')).toBe(false);
    expect(local.calls[0]?.signal.aborted).toBe(true);
    expect(backup.calls).toHaveLength(1);
  });

  it('a model that only ever reports progress is cut at its attempt deadline and the backup serves', async () => {
    const { agent, backup } = localChain(
      [{ kind: 'timed', steps: [{ afterMs: 5_000, event: loading(1) }], forever: true }],
      [{ kind: 'answer', events: answerEvents('From the cloud') }],
    );
    const started = Date.now();
    const pending = agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(LOCAL_ATTEMPT_TIMEOUT_MS);
    const result = await pending;
    expect(result.metadata.model_id).toBe('openai/gpt-4o-mini');
    expect(result.metadata.attempts[0]).toMatchObject({ model_id: 'local/llama', error_type: 'attempt_timeout' });
    expect(backup.callTimes.map((time) => time - started)).toEqual([LOCAL_ATTEMPT_TIMEOUT_MS]);
  });

  it('a local model whose first content comes after some progress serves, and its progress is not forwarded', async () => {
    const { agent, backup } = localChain(
      [{ kind: 'timed', steps: [{ afterMs: 1_000, event: loading(50) }, { afterMs: 1_000, event: { type: 'text-delta', text: 'Local' } }, { afterMs: 0, event: { type: 'finish', finishReason: 'stop' } }] }],
      [{ kind: 'answer', events: answerEvents('From the cloud') }],
    );
    const pending = agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(2_000);
    const result = await pending;
    expect(result.metadata.model_id).toBe('local/llama');
    const drained = drain(result.events);
    await vi.runAllTimersAsync();
    const { events } = await drained;
    expect(events.map((event) => event.type)).toEqual(['text-delta', 'finish']);
    expect(backup.calls).toHaveLength(0);
  });
});

describe('the commit point of the last candidate', () => {
  it('commits on progress, and a load far longer than every deadline, reporting every few seconds, is served without an idle timeout', async () => {
    const progressFor3Minutes = Array.from({ length: 36 }, (_, index) => ({ afterMs: 5_000, event: loading(index) }));
    const { agent, local } = localChain([
      {
        kind: 'timed',
        steps: [
          { afterMs: 100, event: loading(0) },
          ...progressFor3Minutes,
          { afterMs: 5_000, event: { type: 'text-delta', text: 'Finally' } },
          { afterMs: 0, event: { type: 'finish', finishReason: 'stop' } },
        ],
      },
    ]);
    const started = Date.now();
    const pending = agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    const result = await pending; // committed at the first progress: the client hears keep-alives
    expect(Date.now() - started).toBe(100);
    const drained = drain(result.events);
    await vi.advanceTimersByTimeAsync(200_000);
    const { events, error } = await drained;
    expect(error).toBeUndefined();
    expect(events.filter((event) => event.type === 'progress')).toHaveLength(37);
    expect(events.slice(-2)).toEqual([{ type: 'text-delta', text: 'Finally' }, { type: 'finish', finishReason: 'stop' }]);
    expect(local.calls).toHaveLength(1);
  });

  it('a committed model that goes silent after its progress still ends at the idle deadline', async () => {
    const { agent } = localChain([{ kind: 'timed', steps: [{ afterMs: 0, event: loading(1) }, { afterMs: 60_000, event: loading(2) }] }]);
    const pending = agent.run(request, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(0);
    const result = await pending;
    const drained = drain(result.events);
    await vi.advanceTimersByTimeAsync(30_000);
    const { events, error } = await drained;
    expect(events).toEqual([loading(1)]);
    expect((error as GatewayError).code).toBe('idle_timeout');
  });
});

describe('the commit point of a non-streaming request is its finish', () => {
  const text = (events: ChatEvent[]): string => events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
  /** Three deltas reached the gateway, then the upstream's connection broke (as the providers throw it). */
  const cutMidStream = (): ScriptedBehavior => ({ kind: 'fail-after', events: answerEvents('one two three four').slice(0, 3), error: streamBroken('openai', true, 'broke off') });

  async function settled(agent: LocalAgent, signal = new AbortController().signal) {
    const outcome = agent.run(unstreamed, signal).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error: error as GatewayError }),
    );
    await vi.runAllTimersAsync();
    return outcome;
  }

  it('a connection reset after three deltas falls back, and only the backup’s answer reaches the client', async () => {
    const { agent, local, backup } = localChain([cutMidStream()], [{ kind: 'answer', events: answerEvents('From the cloud') }]);
    const outcome = await settled(agent);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.result.metadata.model_id).toBe('openai/gpt-4o-mini');
    const { events, error } = await drain(outcome.result.events);
    expect(error).toBeUndefined();
    expect(text(events)).toBe('From the cloud');
    // Retried like a failure before the first token, then the backup; every attempt is listed.
    expect(outcome.result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type])).toEqual([
      ['local/llama', 502, 'upstream_stream_error'],
      ['local/llama', 502, 'upstream_stream_error'],
      ['local/llama', 502, 'upstream_stream_error'],
      ['openai/gpt-4o-mini', 200, null],
    ]);
    expect(local.calls.every((call) => call.signal.aborted)).toBe(true);
    expect(backup.calls).toHaveLength(1);
  });

  it('an in-band error event mid-stream is retried on the same model, whose second answer alone is returned', async () => {
    const midStream = classifyStreamError('openai', { type: 'server_error', message: 'boom' }, true, []);
    const { agent, backup } = localChain(
      [{ kind: 'fail-after', events: answerEvents('half an answer').slice(0, 2), error: midStream }, { kind: 'answer', events: answerEvents('A whole answer') }],
      [{ kind: 'answer', events: answerEvents('From the cloud') }],
    );
    const outcome = await settled(agent);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status])).toEqual([
      ['local/llama', 502],
      ['local/llama', 200],
    ]);
    const { events } = await drain(outcome.result.events);
    expect(text(events)).toBe('A whole answer');
    expect(events.at(-1)?.type).toBe('finish');
    expect(backup.calls).toHaveLength(0);
  });

  it('a model that goes silent mid-answer is cut at the idle deadline and the backup serves, without a second wait on the silent one', async () => {
    const { agent, local } = localChain(
      [{ kind: 'timed', steps: [{ afterMs: 100, event: { type: 'text-delta', text: 'Half' } }, { afterMs: 120_000, event: { type: 'finish', finishReason: 'stop' } }] }],
      [{ kind: 'answer', events: answerEvents('From the cloud') }],
    );
    const started = Date.now();
    const outcome = await settled(agent);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.error_type])).toEqual([
      ['local/llama', 'idle_timeout'],
      ['openai/gpt-4o-mini', null],
    ]);
    expect(local.calls).toHaveLength(1);
    expect(outcome.result.metadata.latency_ms).toBe(100 + fallbackPolicy().idleTimeoutMs);
    expect(Date.now() - started).toBe(100 + fallbackPolicy().idleTimeoutMs);
  });

  it('resolves only once the answer is complete, its latency covering the whole answer', async () => {
    const { agent } = localChain([
      { kind: 'timed', steps: [{ afterMs: 500, event: { type: 'text-delta', text: 'Slow ' } }, { afterMs: 20_000, event: { type: 'text-delta', text: 'answer' } }, { afterMs: 0, event: { type: 'finish', finishReason: 'stop' } }] },
    ]);
    let resolved = false;
    const pending = agent.run(unstreamed, new AbortController().signal).then((result) => {
      resolved = true;
      return result;
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(resolved).toBe(false); // streaming would have committed at 500 ms
    await vi.runAllTimersAsync();
    const result = await pending;
    expect(result.metadata.latency_ms).toBe(20_500);
    expect(result.metadata.attempts).toEqual([{ provider: 'local', model_id: 'local/llama', status: 200, error_type: null, latency_ms: 20_500 }]);
    expect(text((await drain(result.events)).events)).toBe('Slow answer');
  });

  it('with nothing left to fall back to, a mid-stream failure on every attempt is one error listing them, not a half answer', async () => {
    const { agent, local } = localChain([cutMidStream()]);
    const outcome = await settled(agent);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(GatewayError.isInstance(outcome.error)).toBe(true);
    expect(outcome.error).toMatchObject({ status: 502, code: 'upstream_stream_error' });
    expect(outcome.error.agent?.attempts).toHaveLength(3);
    expect(local.calls).toHaveLength(3);
  });

  it('a client that leaves mid-answer ends the request: no retry, no backup', async () => {
    const { agent, local, backup } = localChain(
      [{ kind: 'timed', steps: [{ afterMs: 100, event: { type: 'text-delta', text: 'Half' } }, { afterMs: 10_000, event: { type: 'finish', finishReason: 'stop' } }] }],
      [{ kind: 'answer', events: answerEvents('From the cloud') }],
    );
    const client = new AbortController();
    const pending = agent.run(unstreamed, client.signal).catch((error: unknown) => error as GatewayError);
    await vi.advanceTimersByTimeAsync(1_000);
    client.abort();
    await vi.runAllTimersAsync();
    expect(await pending).toMatchObject({ code: 'client_closed_request' });
    expect(local.calls).toHaveLength(1);
    expect(local.calls[0]?.signal.aborted).toBe(true);
    expect(backup.calls).toHaveLength(0);
  });

  it('a streaming request still commits at its first event, and a failure after it is the stream’s', async () => {
    const { agent, backup } = localChain([cutMidStream()], [{ kind: 'answer', events: answerEvents('From the cloud') }]);
    const pending = agent.run(request, new AbortController().signal);
    await vi.runAllTimersAsync();
    const result = await pending;
    expect(result.metadata.model_id).toBe('local/llama');
    const { events, error } = await drain(result.events);
    expect(events).toHaveLength(3);
    expect((error as GatewayError).code).toBe('upstream_stream_error');
    expect(backup.calls).toHaveLength(0);
  });
});
