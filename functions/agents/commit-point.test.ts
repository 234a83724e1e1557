import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { parseModelName, type ModelName } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { gatewayErrorFromTunnel } from '../../protocol/tunnel-errors.ts';
import { fallbackPolicy } from './agent-types.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { LOCAL_ATTEMPT_TIMEOUT_MS } from './factory.ts';
import { LocalAgent } from './local-agent.ts';
import { answerEvents, drain, scriptedModel, type ScriptedBehavior, type ScriptedModel } from './testing/scripted-model.ts';

const request: ChatRequest = { model: 'local/llama', messages: [{ role: 'user', content: 'Hi' }] };
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
