import { beforeEach, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('models');
let gateway: TestGateway;
const auth = { headers: { authorization: `Bearer ${GATEWAY_KEY}` } };

beforeEach(async () => {
  gateway = testGateway(mocks.origins, { listLocalModels: async () => [{ id: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit', runner: 'mlx', state: 'loaded', online: true }] });
  await mocks.resetAll();
});

interface ModelList {
  object: string;
  data: Array<{ id: string; object: string; owned_by: string }>;
}

describe('GET /v1/models', () => {
  it("lists each keyed provider's models as provider/id, plus the bridge's as local/id", async () => {
    const response = await gateway.fetch('/v1/models', auth);
    expect(response.status).toBe(200);
    const body = (await response.json()) as ModelList;
    expect(body.object).toBe('list');
    expect(body.data.map((model) => model.id).sort()).toEqual([
      'anthropic/claude-haiku-4-5',
      'anthropic/claude-sonnet-4-5',
      'groq/llama-3.3-70b-versatile',
      'local/mlx-community/Llama-3.2-3B-Instruct-4bit',
      'openai/gpt-4o',
      'openai/gpt-4o-mini',
    ]);
    expect(body.data.find((model) => model.id === 'openai/gpt-4o')).toMatchObject({ object: 'model', owned_by: 'openai' });
  });

  it('uses AGENT_ONLINE_ENDPOINTS[p].models instead of asking the provider', async () => {
    const response = await gateway.fetch('/v1/models', auth, {
      ANTHROPIC_API_KEY: undefined,
      GROQ_API_KEY: undefined,
      AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: `${mocks.origins.openai}/v1`, models: ['gpt-custom'] } }),
    });
    const body = (await response.json()) as ModelList;
    expect(body.data.map((model) => model.id)).toEqual(['openai/gpt-custom', 'local/mlx-community/Llama-3.2-3B-Instruct-4bit']);
    expect(await mocks.openai.calls()).toHaveLength(0);
  });

  it('leaves out a provider whose list fails, and the rest still answer', async () => {
    const response = await gateway.fetch('/v1/models', auth, {
      AGENT_ONLINE_ENDPOINTS: JSON.stringify({
        openai: { base_url: 'http://127.0.0.1:9/v1' }, // nothing listens on the discard port
        anthropic: { base_url: mocks.origins.anthropic },
        groq: { base_url: `${mocks.origins.groq}/v1` },
      }),
    });
    expect(response.status).toBe(200);
    const ids = ((await response.json()) as ModelList).data.map((model) => model.id);
    expect(ids.some((id) => id.startsWith('openai/'))).toBe(false);
    expect(ids).toContain('anthropic/claude-sonnet-4-5');
  });

  it('asks each provider once while its list is fresh', async () => {
    await gateway.fetch('/v1/models', auth);
    await gateway.fetch('/v1/models', auth);
    const listCalls = (await mocks.openai.calls()).filter((call) => call.path === '/v1/models');
    expect(listCalls).toHaveLength(1);
  });

  it('offers no provider without a key', async () => {
    const response = await gateway.fetch('/v1/models', auth, { OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, GROQ_API_KEY: undefined });
    const body = (await response.json()) as ModelList;
    expect(body.data.map((model) => model.id)).toEqual(['local/mlx-community/Llama-3.2-3B-Instruct-4bit']);
  });
});
