import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import type { GatewayError } from '../../protocol/gateway-error.ts';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS, tunnelError } from '../../protocol/tunnel-errors.ts';
import { readConfig } from '../config.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';
import { createBridgeOfflineModel } from './bridge-offline-model.ts';
import { createAgent } from './factory.ts';
import { LocalAgent } from './local-agent.ts';
import { OnlineAgent } from './online-agent.ts';
import { answerEvents, drain, scriptedModel, type ScriptedModel } from '../../tests/helpers/scripted-model.ts';

const config = readConfig({ OPENAI_API_KEY: 'sk-test-openai-key', BRIDGE_TUNNEL: {} as DurableObjectNamespace });

function adaptersServing(model: ScriptedModel): Record<OnlineProvider, ProviderAdapter> {
  const adapter: ProviderAdapter = { createModel: () => model, listModels: async () => [] };
  return { openai: adapter, anthropic: adapter, xai: adapter, groq: adapter };
}

function ask(model: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model, messages: [{ role: 'user', content: 'Hi' }], ...extra };
}

/** The structure of a value: its keys, recursively, and the type of each leaf (arrays by their first element). */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return [value.length > 0 ? shapeOf(value[0]) : 'empty'];
  if (value !== null && typeof value === 'object') {
    if (Symbol.asyncIterator in value) return 'async-iterable';
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([key, entry]) => [key, shapeOf(entry)]));
  }
  return value === null ? 'null' : typeof value;
}

describe('LocalAgent', () => {
  it('answers 503 bridge_offline with a Retry-After when no bridge is connected and there are no backups', async () => {
    const online = scriptedModel('openai/gpt-4o-mini', [{ kind: 'answer', events: answerEvents() }]);
    const agent = createAgent(ask('local/mlx-community/Llama-3.2-3B-Instruct-4bit'), undefined, {
      config,
      adapters: adaptersServing(online),
      createLocalModel: createBridgeOfflineModel,
    });
    expect(agent).toBeInstanceOf(LocalAgent);
    const error = await agent.run(ask('local/mlx-community/Llama-3.2-3B-Instruct-4bit'), new AbortController().signal).then(() => { throw new Error('expected a failure'); }, (failure: unknown) => failure as GatewayError);
    expect(error).toMatchObject({ status: 503, code: 'bridge_offline', type: 'service_unavailable' });
    expect(error.retryAfterMs).toBe(BRIDGE_OFFLINE_RETRY_AFTER_MS); // the tunnel's own figure
    expect(error.message).toContain('No bridge is connected');
    expect(online.calls).toHaveLength(0);
  });

  it('falls back to the backups at once when the bridge is offline, and the attempts say so', async () => {
    const online = scriptedModel('openai/gpt-4o-mini', [{ kind: 'answer', events: answerEvents('From the cloud') }]);
    const request = ask('local/llama', { fallback_models: ['openai/gpt-4o-mini'] });
    const agent = createAgent(request, undefined, { config, adapters: adaptersServing(online), createLocalModel: createBridgeOfflineModel });
    const result = await agent.run(request, new AbortController().signal);
    expect(result.metadata).toMatchObject({ backend: 'online', provider: 'openai', model_id: 'openai/gpt-4o-mini' });
    expect(result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type])).toEqual([
      ['local/llama', 503, 'bridge_offline'],
      ['openai/gpt-4o-mini', 200, null],
    ]);
    expect((await drain(result.events)).events.at(-1)).toMatchObject({ type: 'finish' });
  });

  it('falls back to the backups at once when the bridge does not answer, and the attempts say so', async () => {
    const online = scriptedModel('openai/gpt-4o-mini', [{ kind: 'answer', events: answerEvents('From the cloud') }]);
    const stuck = scriptedModel('local/llama', [{ kind: 'fail', error: tunnelError('bridge_unresponsive', 'no ack') }]);
    const request = ask('local/llama', { fallback_models: ['openai/gpt-4o-mini'] });
    const agent = createAgent(request, undefined, { config, adapters: adaptersServing(online), createLocalModel: () => stuck });
    const result = await agent.run(request, new AbortController().signal);
    expect(result.metadata.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type])).toEqual([
      ['local/llama', 503, 'bridge_unresponsive'],
      ['openai/gpt-4o-mini', 200, null],
    ]);
    expect(stuck.calls).toHaveLength(1);
  });

  it('returns exactly the OnlineAgent shape, with backend local and the runner as provider', async () => {
    // The same answer served once by an online provider and once by a local runner.
    const cloud = scriptedModel('openai/gpt-4o', [{ kind: 'answer', events: answerEvents('Same hello') }]);
    const runner = scriptedModel('mlx/llama', [{ kind: 'answer', events: answerEvents('Same hello') }]);
    const localModel = { ...runner, provider: 'mlx', modelId: 'local/llama' };
    const serve = async (request: ChatRequest) => {
      const agent = createAgent(request, undefined, { config, adapters: adaptersServing(cloud), createLocalModel: () => localModel });
      const result = await agent.run(request, new AbortController().signal);
      return { agent, result, events: (await drain(result.events)).events };
    };
    const online = await serve(ask('openai/gpt-4o'));
    const local = await serve(ask('local/llama'));
    expect(online.agent).toBeInstanceOf(OnlineAgent);
    expect(local.agent).toBeInstanceOf(LocalAgent);

    // Same keys at every level, each value of the same type; only the values that name who served differ.
    expect(shapeOf(local.result)).toEqual(shapeOf(online.result));
    expect(local.events).toEqual(online.events);
    expect(local.result.metadata).toMatchObject({ backend: 'local', provider: 'mlx', model_id: 'local/llama' });
    expect(online.result.metadata).toMatchObject({ backend: 'online', provider: 'openai', model_id: 'openai/gpt-4o' });
    expect(runner.calls[0]?.request.model).toBe('llama');
    expect(runner.calls[0]?.request).not.toHaveProperty('fallback_models');
  });

  it('an online name goes to the OnlineAgent', () => {
    const online = scriptedModel('openai/gpt-4o', []);
    expect(createAgent(ask('openai/gpt-4o'), undefined, { config, adapters: adaptersServing(online), createLocalModel: createBridgeOfflineModel })).toBeInstanceOf(OnlineAgent);
  });
});
