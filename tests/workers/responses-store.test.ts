/**
 * `store: true` on `POST /v1/responses` against the real sqld of the workerd
 * suites: the response kept with its conversation, `previous_response_id` and
 * `item_reference` continuing it, GET and DELETE, the TTL, and what happens
 * without a database or when it is down. Driven by the official openai SDK.
 */
import { inject } from 'vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { STORED_RESPONSE_TTL_MS } from '../../functions/surfaces/openai-responses/response-store.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { chatInit, GATEWAY_KEY, sdkClient, suiteMocks, testGateway, type TestGateway, type VarOverrides } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('responses-store');
const database: VarOverrides = { TURSO_DATABASE_URL: inject('sqldUrl'), TURSO_AUTH_TOKEN: '' };

let now = Date.parse('2026-12-01T10:00:00.000Z');
let gateway: TestGateway;

/** The gateway with `overrides` on every request (the SDK cannot pass them). */
function withVars(base: TestGateway, overrides: VarOverrides): TestGateway {
  return { logs: base.logs, fetch: (path, init, more) => base.fetch(path, init, { ...overrides, ...more }) };
}

beforeEach(async () => {
  gateway = withVars(testGateway(mocks.origins, { deps: { ...defaultRuntimeDeps, random: () => 0, now: () => now } }), database);
  await mocks.resetAll();
});

interface UpstreamChat {
  messages: Array<Record<string, unknown>>;
}

async function upstreamMessages(index: number): Promise<UpstreamChat['messages']> {
  const calls = await mocks.openai.calls();
  return (calls[index]?.body as UpstreamChat).messages;
}

function authorized(method: string): RequestInit {
  return { method, headers: { authorization: `Bearer ${GATEWAY_KEY}` } };
}

describe('stored responses', () => {
  it('keeps a store: true response, returns it from GET, and continues it with previous_response_id', async () => {
    await mocks.openai.script([
      { kind: 'reply', content: 'Paris.' },
      { kind: 'reply', content: 'About 2.1 million.' },
    ]);
    const client = sdkClient(gateway);
    const first = await client.responses.create({ model: 'openai/gpt-4o', instructions: 'Be terse.', input: 'Capital of France?', store: true });
    expect(first).toMatchObject({ store: true });

    const fetched = await client.responses.retrieve(first.id);
    expect(fetched).toMatchObject({ id: first.id, status: 'completed', output: first.output, store: true, agent: { provider: 'openai', model_id: 'openai/gpt-4o' } });

    const second = await client.responses.create({ model: 'openai/gpt-4o', previous_response_id: first.id, input: 'And its population?', store: true });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe('About 2.1 million.');
    // The earlier turn is sent again; its instructions are not (as on OpenAI).
    expect(await upstreamMessages(1)).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And its population?' },
    ]);
  });

  it('stores a streamed response before response.completed, so the next request can continue it at once', async () => {
    await mocks.openai.script([
      { kind: 'stream', deltas: ['Oslo', '.'] },
      { kind: 'reply', content: 'Norway.' },
    ]);
    const client = sdkClient(gateway);
    const stream = client.responses.stream({ model: 'openai/gpt-4o', input: 'Name a capital.', store: true });
    const final = await stream.finalResponse();
    const next = await client.responses.create({ model: 'openai/gpt-4o', previous_response_id: final.id, input: 'Of which country?' });
    expect(next.output_text).toBe('Norway.');
    expect((await upstreamMessages(1)).slice(0, 2)).toEqual([
      { role: 'user', content: 'Name a capital.' },
      { role: 'assistant', content: 'Oslo.' },
    ]);
  });

  it('continues a tool call with only the function_call_output after previous_response_id', async () => {
    await mocks.openai.script([
      { kind: 'reply', toolCalls: [{ id: 'call_st1', name: 'get_time', arguments: '{}' }], finishReason: 'tool_calls' },
      { kind: 'reply', content: 'It is noon.' },
    ]);
    const client = sdkClient(gateway);
    const tools = [{ type: 'function' as const, name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false }];
    const first = await client.responses.create({ model: 'openai/gpt-4o', input: 'Time?', tools, store: true });
    const second = await client.responses.create({
      model: 'openai/gpt-4o',
      tools,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: 'call_st1', output: '12:00' }],
    });
    expect(second.output_text).toBe('It is noon.');
    expect(await upstreamMessages(1)).toEqual([
      { role: 'user', content: 'Time?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_st1', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_st1', content: '12:00' },
    ]);
  });

  it('resolves an item_reference to an item of a stored response', async () => {
    await mocks.openai.script([
      { kind: 'reply', content: 'Blue.' },
      { kind: 'reply', content: 'Yes.' },
    ]);
    const client = sdkClient(gateway);
    const first = await client.responses.create({ model: 'openai/gpt-4o', input: 'Sky colour?', store: true });
    const itemId = first.output[0]?.id ?? '';
    await client.responses.create({
      model: 'openai/gpt-4o',
      input: [{ role: 'user', content: 'Sky colour?' }, { type: 'item_reference', id: itemId }, { role: 'user', content: 'Sure?' }],
    });
    expect(await upstreamMessages(1)).toEqual([
      { role: 'user', content: 'Sky colour?' },
      { role: 'assistant', content: 'Blue.' },
      { role: 'user', content: 'Sure?' },
    ]);
  });

  it('forgets a response after its TTL: GET is 404 and previous_response_id a 400 naming it', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Kept.' }]);
    const first = await sdkClient(gateway).responses.create({ model: 'openai/gpt-4o', input: 'Keep this', store: true });
    now += STORED_RESPONSE_TTL_MS;
    const fetched = await gateway.fetch(`/v1/responses/${first.id}`, authorized('GET'));
    expect(fetched.status).toBe(404);
    expect(await fetched.json()).toMatchObject({ error: { code: 'response_not_found', type: 'invalid_request_error' } });
    const continued = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', previous_response_id: first.id, input: 'Again' }));
    expect(continued.status).toBe(400);
    expect(await continued.json()).toMatchObject({ error: { param: 'previous_response_id', code: 'previous_response_not_found' } });
    expect(await mocks.openai.calls()).toHaveLength(1);
  });

  it('deletes a stored response with DELETE, as OpenAI answers it', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Gone soon.' }]);
    const client = sdkClient(gateway);
    const first = await client.responses.create({ model: 'openai/gpt-4o', input: 'Hi', store: true });
    const deleted = await gateway.fetch(`/v1/responses/${first.id}`, authorized('DELETE'));
    expect(await deleted.json()).toEqual({ id: first.id, object: 'response', deleted: true });
    expect((await gateway.fetch(`/v1/responses/${first.id}`, authorized('GET'))).status).toBe(404);
    expect((await gateway.fetch(`/v1/responses/${first.id}`, authorized('DELETE'))).status).toBe(404);
  });

  it('keeps nothing by default: a response without store cannot be fetched or continued', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Ephemeral.' }]);
    const first = await sdkClient(gateway).responses.create({ model: 'openai/gpt-4o', input: 'Hi' });
    expect(first).toMatchObject({ store: false });
    expect((await gateway.fetch(`/v1/responses/${first.id}`, authorized('GET'))).status).toBe(404);
  });

  it('answers store: true without a database with a 503 naming store, before any upstream call', async () => {
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Hi', store: true }), { TURSO_DATABASE_URL: undefined });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'database_not_configured', param: 'store' } });
    expect(await mocks.openai.calls()).toHaveLength(0);
  });

  it('answers a non-streamed store: true request whose database is down with the 503, not an answer it did not keep', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Lost' }]);
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Hi', store: true }), { TURSO_DATABASE_URL: 'http://127.0.0.1:1' });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'database_unavailable', type: 'service_unavailable' } });
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('fails a streamed store: true response whose database is down with response.failed, not response.completed', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['Lost'] }]);
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Hi', store: true, stream: true }), {
      TURSO_DATABASE_URL: 'http://127.0.0.1:1',
    });
    const text = await response.text();
    expect(text).not.toContain('response.completed');
    expect(text).toMatch(/event: error\ndata: \{"type":"error","sequence_number":\d+,"code":"database_unavailable"/);
    expect(text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: response.failed\n/);
    expect(text).not.toContain('127.0.0.1:1');
  });
});
