import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { Env } from '../config.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';
import { createModelCatalog } from './model-catalog.ts';
import { listModels } from './models.ts';

const env = { OPENAI_API_KEY: 'sk-test-openai-key-models', BRIDGE_TUNNEL: {} } as unknown as Env;

/** An OpenAI adapter whose model lists the test hands out one call at a time. */
function manualAdapter() {
  const waiting: Array<(ids: string[]) => void> = [];
  const state = { calls: 0 };
  let twoCalls: () => void = () => undefined;
  const calledTwice = new Promise<void>((resolve) => (twoCalls = resolve));
  const adapter: ProviderAdapter = {
    createModel: () => {
      throw new Error('not used');
    },
    listModels: () => {
      state.calls += 1;
      if (state.calls === 2) twoCalls();
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
  const adapters: Record<OnlineProvider, ProviderAdapter> = { openai: adapter, anthropic: adapter, xai: adapter, groq: adapter };
  return { adapters, state, calledTwice, answerNext: (ids: string[]) => waiting.shift()?.(ids) };
}

async function ids(response: Response | Promise<Response>): Promise<string[]> {
  const body = (await (await response).json()) as { data: Array<{ id: string }> };
  return body.data.map((model) => model.id);
}

describe('the /v1/models cache', () => {
  it('lets concurrent misses each ask the provider, so no request waits on another request’s call, then reuses the settled list', async () => {
    const upstream = manualAdapter();
    const app = new Hono<{ Bindings: Env }>();
    app.get('/v1/models', listModels(createModelCatalog({ adapters: upstream.adapters, deps: defaultRuntimeDeps, log: () => undefined })));

    const first = app.request('/v1/models', undefined, env);
    const second = app.request('/v1/models', undefined, env);
    await upstream.calledTwice; // the second request did not wait for the first one's call
    upstream.answerNext(['gpt-4o']);
    upstream.answerNext(['gpt-4o', 'gpt-4o-mini']);
    expect(await ids(first)).toEqual(['openai/gpt-4o']);
    expect(await ids(second)).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini']);

    expect(await ids(app.request('/v1/models', undefined, env))).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini']);
    expect(upstream.state.calls).toBe(2);
  });
});

