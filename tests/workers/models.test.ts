import OpenAI from 'openai';
import { beforeEach, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, sdkClient, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

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

describe('GET /v1/models/{id}', () => {
  let requested: string[] = [];
  const client = (): OpenAI => sdkClient(gateway, (path) => requested.push(path));
  beforeEach(() => {
    requested = [];
  });

  async function listEntry(id: string): Promise<unknown> {
    const list = (await (await gateway.fetch('/v1/models', auth)).json()) as ModelList;
    return list.data.find((model) => model.id === id);
  }

  it.each(['openai/gpt-4o', 'local/mlx-community/Llama-3.2-3B-Instruct-4bit'])(
    'client.models.retrieve(%j) answers exactly the entry GET /v1/models lists',
    async (id) => {
      const model = await client().models.retrieve(id);
      // The SDK percent-encodes the slashes of the id.
      expect(requested).toEqual([`/v1/models/${encodeURIComponent(id)}`]);
      expect({ ...model }).toEqual(await listEntry(id));
      expect(model).toMatchObject({ id, object: 'model', created: 0 });
    },
  );

  it('answers an id written with raw slashes too, as curl sends it', async () => {
    const response = await gateway.fetch('/v1/models/local/mlx-community/Llama-3.2-3B-Instruct-4bit', auth);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(await listEntry('local/mlx-community/Llama-3.2-3B-Instruct-4bit'));
  });

  it.each(['openai/gpt-9', 'xai/grok-4', 'local/mlx-community/Unknown-Model', 'mistral/large'])(
    'answers %j, which is not offered, with an OpenAI-shaped 404 model_not_found naming model',
    async (id) => {
      const error = await client()
        .models.retrieve(id)
        .then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const response = await gateway.fetch(`/v1/models/${encodeURIComponent(id)}`, auth);
      expect(response.status).toBe(404);
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
      expect(body.error['message']).toContain(id);
    },
  );

  it('answers 503 with a retry hint, not a 500, when the bridge model list cannot be read', async () => {
    const broken = testGateway(mocks.origins, { listLocalModels: () => Promise.reject(new Error('Durable Object reset')) });
    const response = await broken.fetch('/v1/models/local/mlx-community/Llama-3.2-3B-Instruct-4bit', auth);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({ error: { type: 'service_unavailable', code: 'bridge_status_unavailable', param: null, message: expect.stringContaining('try again') } });
  });

  it('asks only the provider the id names', async () => {
    await client().models.retrieve('openai/gpt-4o');
    expect((await mocks.openai.calls()).filter((call) => call.path === '/v1/models')).toHaveLength(1);
    expect(await mocks.anthropic.calls()).toHaveLength(0);
    expect(await mocks.groq.calls()).toHaveLength(0);
  });

  it('answers other methods with 405 and Allow: GET, HEAD', async () => {
    const response = await gateway.fetch('/v1/models/openai/gpt-4o', { method: 'DELETE', headers: auth.headers });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  it('needs the gateway key', async () => {
    const response = await gateway.fetch('/v1/models/openai/gpt-4o');
    expect(response.status).toBe(401);
  });
});
