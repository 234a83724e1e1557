/**
 * Local models and the settings that steer requests, with every real process:
 * sqld (migrated), the Worker, the real bridge CLI (`bridge/cli.ts`) with its
 * Python worker over the `mlx_lm` test double, and the official client.
 * The tests build on each other in order: offline first, then a bridge, then
 * settings, then a restart of everything.
 *
 * Why the double: it echoes each request's last message, so every settings change and restart
 * here shows which request was served where; the tiny model gives one fixed answer per prompt.
 * The local flow itself on the real mlx-lm is flows-local-real-engine.test.ts.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';
import { agentOf, expectServedLocally, readStream } from './stack-answers.ts';
import { MLX_MODEL, type BridgeProcess } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

let stack: Stack;
let bridge: BridgeProcess | undefined;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** The real bridge; the double pauses a little per token so a stream really arrives piece by piece. */
const startBridge = (): Promise<BridgeProcess> => stack.startBridge('mlx', { env: { MLX_DOUBLE_TOKEN_DELAY_MS: '5' } });

const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];
/** A request that names no model: the settings decide. */
const NO_MODEL = undefined as unknown as string;

async function putSettings(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await stack.api('/v1/settings', { method: 'PUT', body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function patchSettings(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await stack.api('/v1/settings', { method: 'PATCH', body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function getSettings(): Promise<Record<string, unknown>> {
  const response = await stack.api('/v1/settings');
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

const LOCAL_WITH_BACKUP = {
  preferred_transport: 'local',
  default_online_model: 'openai/gpt-4o-mini',
  default_local_model: MLX_MODEL,
  backup_models: ['anthropic/claude-haiku-4-5'],
  rag_archives: [],
};

describe('with the real bridge and its Python worker', () => {
  beforeAll(async () => {
    bridge = await startBridge();
  });

  it('answers a local request without streaming, with the local metadata', async () => {
    const { data: completion, response } = await stack.client.chat.completions
      .create({ model: MLX_MODEL, messages: ask('the quick brown fox') })
      .withResponse();
    // The double answers with the last user message, word by word.
    expect(completion.choices[0]?.message.content).toBe('the quick brown fox');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBeGreaterThanOrEqual(4); // the words, and the double's EOS
    expectServedLocally(completion, response, MLX_MODEL);
  });

  it('streams a local answer delta by delta', async () => {
    const { data: stream, response } = await stack.client.chat.completions
      .create({ model: MLX_MODEL, messages: ask('one two three four five six'), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get('x-agent-backend')).toBe('local');
    const streamed = await readStream(stream);
    expect(streamed.text).toBe('one two three four five six');
    expect(streamed.finishReason).toBe('stop');
    expect(streamed.usage?.completion_tokens).toBeGreaterThanOrEqual(6);
    // A role chunk, a chunk per word (the double waits between tokens), the finish and the usage.
    expect(streamed.chunks).toBeGreaterThanOrEqual(6 + 2);
  });

  it('lists the bridge model and reports the bridge connected', async () => {
    const ids: string[] = [];
    for await (const entry of stack.client.models.list()) ids.push(entry.id);
    expect(ids).toContain(MLX_MODEL);
    const status = (await (await stack.api('/v1/bridge')).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ connected: true, runners: ['mlx'], in_flight: 0 });
  });

  it('serves a request with no model locally when the settings prefer local', async () => {
    await putSettings(LOCAL_WITH_BACKUP);
    const { data: completion, response } = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('settings chose me') }).withResponse();
    expect(completion.choices[0]?.message.content).toBe('settings chose me');
    expect(response.headers.get('x-agent-model')).toBe(MLX_MODEL);
  });
});

describe('settings written through the API', () => {
  it('steer the very next request, each time they change', async () => {
    stack.mocks.reset();
    await patchSettings({ preferred_transport: 'online', default_online_model: 'groq/llama-3.3-70b-versatile' });
    const first = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('who?') }).withResponse();
    expect(first.response.headers.get('x-agent-model')).toBe('groq/llama-3.3-70b-versatile');
    expect(stack.mocks.providers.groq.calls()).toHaveLength(1);

    await patchSettings({ default_online_model: 'xai/grok-4' });
    const second = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('who?') }).withResponse();
    expect(second.response.headers.get('x-agent-model')).toBe('xai/grok-4');

    await patchSettings({ preferred_transport: 'local' });
    const third = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('back home') }).withResponse();
    expect(third.response.headers.get('x-agent-model')).toBe(MLX_MODEL);
    expect(third.data.choices[0]?.message.content).toBe('back home');

    // A request that names its model is not overridden by the settings.
    const named = await stack.client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: ask('x') }).withResponse();
    expect(named.response.headers.get('x-agent-model')).toBe('openai/gpt-4o-mini');
  });

});

describe('with no bridge connected', () => {
  beforeAll(async () => {
    await bridge?.stop('SIGTERM');
    bridge = undefined;
    await stack.api('/v1/settings', { method: 'DELETE' });
  });

  it('answers a local request with 503 bridge_offline and Retry-After when there is no backup', async () => {
    const failure = await stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask('hi') }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const error = failure as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
    expect(error.code).toBe('bridge_offline');
    // HTTP's whole seconds, and the milliseconds OpenAI's SDKs read first: the tunnel's own 5 s.
    expect(error.headers?.get('retry-after')).toBe(String(BRIDGE_OFFLINE_RETRY_AFTER_MS / 1000));
    expect(error.headers?.get('retry-after-ms')).toBe(String(BRIDGE_OFFLINE_RETRY_AFTER_MS));
  });

  it('falls back to the online backup the settings list, naming both attempts', async () => {
    await putSettings(LOCAL_WITH_BACKUP);
    stack.mocks.providers.anthropic.script([{ kind: 'reply', content: 'The cloud covers for your Mac' }, { kind: 'stream', deltas: ['Cloud ', 'stream'] }]);

    const { data: completion, response } = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('hi') }).withResponse();
    expect(completion.choices[0]?.message.content).toBe('The cloud covers for your Mac');
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-haiku-4-5');
    const { attempts } = agentOf(completion);
    expect(attempts.map((attempt) => attempt.model_id)).toEqual([MLX_MODEL, 'anthropic/claude-haiku-4-5']);
    expect(attempts[0]).toMatchObject({ status: 503, error_type: expect.stringMatching(/bridge_offline|service_unavailable/) });

    const streamed = await readStream(await stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask('hi'), stream: true }));
    expect(streamed).toMatchObject({ text: 'Cloud stream', model: 'anthropic/claude-haiku-4-5', finishReason: 'stop' });
  });

  // `bridge_offline` says nothing about the model's health: it must not open its circuit breaker
  // (three offline requests above), or the model would be skipped for 30 s once the bridge is back.
  it('serves locally again as soon as the bridge reconnects after offline failures', async () => {
    bridge = await startBridge();
    const { data: completion, response } = await stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask('I am back') }).withResponse();
    expect(response.headers.get('x-agent-backend')).toBe('local');
    expect(completion.choices[0]?.message.content).toBe('I am back');
  });
});


describe('after a restart of everything', () => {
  it('settings are still there, and still steer, after sqld, the Worker and the bridge are all restarted', async () => {
    const chosen = await putSettings({
      preferred_transport: 'online',
      default_online_model: 'xai/grok-4',
      default_local_model: MLX_MODEL,
      backup_models: ['groq/llama-3.1-8b-instant'],
      rag_archives: ['notes 📚', `it's "quoted"`],
    });
    expect(typeof chosen['updated_at']).toBe('string');

    await bridge?.stop('SIGTERM');
    bridge = undefined;
    await stack.database?.stop();
    await stack.restartGateway();
    await stack.database?.start();
    bridge = await startBridge();

    expect(await getSettings()).toEqual(chosen);
    const online = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('after restart') }).withResponse();
    expect(online.response.headers.get('x-agent-model')).toBe('xai/grok-4');

    // The backups survived too: the primary down, the stored backup serves.
    stack.mocks.providers.xai.setDefault({ kind: 'status', status: 503 });
    const covered = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('after restart') }).withResponse();
    expect(covered.response.headers.get('x-agent-model')).toBe('groq/llama-3.1-8b-instant');
    stack.mocks.providers.xai.reset();

    await patchSettings({ preferred_transport: 'local' });
    const local = await stack.client.chat.completions.create({ model: NO_MODEL, messages: ask('the bridge is back') });
    expect(local.choices[0]?.message.content).toBe('the bridge is back');
    expect(local.model).toBe(MLX_MODEL);
  });
});
