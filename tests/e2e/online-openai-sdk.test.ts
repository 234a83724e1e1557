import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/start-gateway.ts';
import { startMockProvider, type MockProvider } from '../helpers/mock-provider.ts';

const GATEWAY_KEY = 'gw-e2e-key-3c9f0b7a21';
let openaiMock: MockProvider;
let anthropicMock: MockProvider;
let gateway: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  [openaiMock, anthropicMock] = await Promise.all([startMockProvider({ flavor: 'openai' }), startMockProvider({ flavor: 'anthropic' })]);
  gateway = await startGateway({
    vars: {
      GATEWAY_API_KEY: GATEWAY_KEY,
      OPENAI_API_KEY: 'sk-e2e-openai-0000',
      ANTHROPIC_API_KEY: 'sk-ant-e2e-0000',
      AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: openaiMock.baseUrl }, anthropic: { base_url: anthropicMock.baseUrl } }),
    },
  });
  // The SDK's own retries off: what the test sees is what the gateway did.
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openaiMock?.close(), anthropicMock?.close()]);
});

beforeEach(() => {
  openaiMock.reset();
  anthropicMock.reset();
});

describe('the official openai client against the running gateway', () => {
  it('gets a completion from anthropic/… with the agent metadata', async () => {
    anthropicMock.script([{ kind: 'reply', content: 'Hello from the Anthropic mock', usage: { prompt_tokens: 11, completion_tokens: 6 } }]);
    const { data: completion, response } = await client.chat.completions
      .create({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    expect(completion.choices[0]?.message.content).toBe('Hello from the Anthropic mock');
    expect(completion.model).toBe('anthropic/claude-sonnet-4-5');
    expect(completion.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
    expect(response.headers.get('x-agent-backend')).toBe('online');
    expect(response.headers.get('x-agent-provider')).toBe('anthropic');
    expect((completion as unknown as { agent: { attempts: unknown[] } }).agent.attempts).toHaveLength(1);
  });

  it('streams, with usage, and falls back to the backup when the primary is rate limited', async () => {
    openaiMock.setDefault({ kind: 'status', status: 429, headers: { 'retry-after': '0' } });
    anthropicMock.script([{ kind: 'stream', deltas: ['Backup ', 'to ', 'the ', 'rescue'] }]);
    const stream = await client.chat.completions.create({
      model: 'openai/gpt-4o',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
      // Our extension: the SDK passes unknown body fields through.
      ...({ fallback_models: ['anthropic/claude-sonnet-4-5'] } as object),
    });
    let text = '';
    let usage: unknown;
    let model = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
      model = chunk.model;
    }
    expect(text).toBe('Backup to the rescue');
    expect(model).toBe('anthropic/claude-sonnet-4-5');
    expect(usage).toMatchObject({ total_tokens: expect.any(Number) });
    expect(openaiMock.calls()).toHaveLength(3);
  });

  it('surfaces a caller mistake as the SDK error with status and param', async () => {
    const error = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [], stream: false }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages');
  });

  it('a wrong key is an AuthenticationError', async () => {
    const stranger = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('lists models as provider/id', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids.some((id) => id.startsWith('openai/'))).toBe(true);
    expect(ids.some((id) => id.startsWith('anthropic/'))).toBe(true);
  });
  // Client cancellation: under `wrangler dev` (4.164) a disconnect after the stream started reaches
  // the Worker (asserted in reliability-disconnects.test.ts); one before the first byte usually does
  // not (cloudflare/workers-sdk#9334), so that case is pinned in tests/workers/chat-cancel.test.ts;
  // on Cloudflare, `enable_request_signal` delivers both.
});
