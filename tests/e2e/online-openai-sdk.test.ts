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
  it('reads retry-after-ms first: the gateway says Retry-After in whole seconds, and the SDK waits the milliseconds', async () => {
    // Each of the gateway's three attempts is rate limited; the SDK's own retry then finds the upstream free.
    const limited = { kind: 'status', status: 429, headers: { 'retry-after-ms': '200' } } as const;
    openaiMock.script([limited, limited, limited, { kind: 'reply', content: 'After the wait' }]);
    const requestsAt: number[] = [];
    const answers: Array<{ status: number; at: number; headers: Headers }> = [];
    const retrying = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: GATEWAY_KEY,
      maxRetries: 1,
      fetch: async (input, init) => {
        requestsAt.push(Date.now());
        const answer = await fetch(input, init);
        answers.push({ status: answer.status, at: Date.now(), headers: answer.headers });
        return answer;
      },
    });
    const completion = await retrying.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] });
    expect(completion.choices[0]?.message.content).toBe('After the wait');
    expect(answers.map((answer) => answer.status)).toEqual([429, 200]);
    const [refused] = answers;
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.headers.get('retry-after-ms')).toBe('200');
    expect(refused?.headers.get('x-agent-attempts')).toBe('3');
    // 200 ms, as retry-after-ms said: reading Retry-After would have meant a whole second.
    const waited = (requestsAt[1] ?? 0) - (refused?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(900);
    expect(openaiMock.calls()).toHaveLength(4);
  });

  it('an invalid request through an open breaker is one 400 with param, which the SDK does not send again', async () => {
    // Three requests whose model refuses our key open its breaker (each request counts once).
    anthropicMock.setDefault({ kind: 'status', status: 401 });
    for (let request = 0; request < 3; request++) {
      await client.chat.completions.create({ model: 'anthropic/claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    }
    expect(anthropicMock.calls()).toHaveLength(3);
    openaiMock.setDefault({ kind: 'status', status: 400, body: { error: { message: 'Invalid value for seed', type: 'invalid_request_error', param: 'seed', code: null } } });
    const retrying = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: GATEWAY_KEY, maxRetries: 2 });
    const error = await retrying.chat.completions
      .create({ model: 'anthropic/claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }], ...({ fallback_models: ['openai/gpt-4o-mini'] } as object) })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('seed');
    expect(anthropicMock.calls()).toHaveLength(3); // skipped by its open breaker
    expect(openaiMock.calls()).toHaveLength(1); // asked once: the SDK did not retry a 400
  });

  // Client cancellation: under `wrangler dev` (4.164) a disconnect after the stream started reaches
  // the Worker (asserted in reliability-disconnects.test.ts); one before the first byte usually does
  // not (cloudflare/workers-sdk#9334), so that case is pinned in tests/workers/chat-cancel.test.ts;
  // on Cloudflare, `enable_request_signal` delivers both.
});
