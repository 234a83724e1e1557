/**
 * `POST /v1/responses` through the official openai SDK (`responses.create`,
 * `responses.stream`, `responses.parse`) against the Worker in workerd and
 * the loopback mock providers: the translation to each upstream, the semantic
 * event stream, tools two turns deep, structured output, reasoning, errors.
 */
import { zodTextFormat } from 'openai/helpers/zod';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { chatInit, GATEWAY_KEY, sdkClient, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('responses');
let gateway: TestGateway;

beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

interface UpstreamChat {
  model: string;
  messages: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

async function upstreamBody(mock = mocks.openai): Promise<UpstreamChat> {
  const [call] = await mock.calls();
  return call?.body as UpstreamChat;
}

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('POST /v1/responses, not streaming', () => {
  it('answers a string input with one Response: output_text, usage in Responses terms, the agent field and headers', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Hello there', usage: { prompt_tokens: 21, completion_tokens: 3, cached_tokens: 16 } }]);
    const client = sdkClient(gateway);
    const { data: response, response: raw } = await client.responses
      .create({ model: 'openai/gpt-4o', input: 'Say hello', instructions: 'Be brief.', max_output_tokens: 64, temperature: 0.2, metadata: { ticket: 'T-1' } })
      .withResponse();

    expect(raw.headers.get('x-agent-backend')).toBe('online');
    expect(raw.headers.get('x-agent-provider')).toBe('openai');
    expect(raw.headers.get('x-agent-model')).toBe('openai/gpt-4o');
    expect(raw.headers.get('x-agent-attempts')).toBe('1');
    expect(response.id).toMatch(/^resp_/);
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'openai/gpt-4o',
      instructions: 'Be brief.',
      max_output_tokens: 64,
      temperature: 0.2,
      metadata: { ticket: 'T-1' },
      store: false,
      usage: { input_tokens: 21, output_tokens: 3, total_tokens: 24, input_tokens_details: { cached_tokens: 16 }, output_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(response.output_text).toBe('Hello there');
    expect(response.output).toEqual([
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hello there', annotations: [], logprobs: [] }],
      },
    ]);
    expect((response as unknown as { agent: unknown }).agent).toMatchObject({ backend: 'online', provider: 'openai', model_id: 'openai/gpt-4o', attempts: [{ status: 200 }] });

    const upstream = await upstreamBody();
    expect(upstream.model).toBe('gpt-4o');
    expect(upstream.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello' },
    ]);
    expect(upstream).toMatchObject({ max_completion_tokens: 64, temperature: 0.2 });
    // Ours to keep: neither the store flag nor the metadata reaches the provider.
    expect(upstream).not.toHaveProperty('store');
    expect(upstream).not.toHaveProperty('metadata');
  });

  it('carries message items with input_text and input_image parts, and developer messages, to an Anthropic upstream', async () => {
    await mocks.anthropic.script([{ kind: 'reply', content: 'A cat.' }]);
    const response = await sdkClient(gateway).responses.create({
      model: 'anthropic/claude-sonnet-4-5',
      input: [
        { role: 'developer', content: 'Answer in two words.' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
          ],
        },
      ],
    });
    expect(response.output_text).toBe('A cat.');
    const upstream = await upstreamBody(mocks.anthropic);
    expect(upstream['system']).toBe('Answer in two words.');
    expect(upstream.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
    ]);
  });

  it('returns a function_call item, then takes its function_call_output on the second turn', async () => {
    await mocks.openai.script([
      { kind: 'reply', toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' }], finishReason: 'tool_calls' },
      { kind: 'reply', content: 'It is sunny in Paris.' },
    ]);
    const client = sdkClient(gateway);
    const first = await client.responses.create({ model: 'openai/gpt-4o', input: 'Weather in Paris?', tools: [weatherTool], tool_choice: 'auto', parallel_tool_calls: false });
    expect(first.status).toBe('completed');
    expect(first.output).toEqual([
      { type: 'function_call', id: expect.stringMatching(/^fc_/), status: 'completed', call_id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
    const call = first.output[0];
    if (call?.type !== 'function_call') throw new Error('expected a function call');

    const second = await client.responses.create({
      model: 'openai/gpt-4o',
      tools: [weatherTool],
      input: [{ role: 'user', content: 'Weather in Paris?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '{"sky":"sunny"}' }],
    });
    expect(second.output_text).toBe('It is sunny in Paris.');

    const [firstCall, secondCall] = await mocks.openai.calls();
    expect(firstCall?.body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.parameters, strict: true } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
    });
    expect((secondCall?.body as UpstreamChat).messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_w1', content: '{"sky":"sunny"}' },
    ]);
  });

  it('turns text.format json_schema into the upstream response_format, and responses.parse reads the result', async () => {
    await mocks.openai.script([{ kind: 'reply', content: '{"city":"Paris","celsius":21}' }]);
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const parsed = await sdkClient(gateway).responses.parse({ model: 'openai/gpt-4o', input: 'Weather?', text: { format: zodTextFormat(Weather, 'weather') } });
    expect(parsed.output_parsed).toEqual({ city: 'Paris', celsius: 21 });
    expect(parsed.text?.format).toMatchObject({ type: 'json_schema', name: 'weather' });
    const upstream = await upstreamBody();
    expect(upstream['response_format']).toMatchObject({ type: 'json_schema', json_schema: { name: 'weather', strict: true, schema: { type: 'object' } } });
  });

  it('sends reasoning.effort to OpenAI as reasoning_effort, and json_object as response_format', async () => {
    await mocks.openai.script([{ kind: 'reply', content: '{}' }]);
    await sdkClient(gateway).responses.create({ model: 'openai/gpt-4o', input: 'JSON please', reasoning: { effort: 'high', summary: 'auto' }, text: { format: { type: 'json_object' } } });
    expect(await upstreamBody()).toMatchObject({ reasoning_effort: 'high', response_format: { type: 'json_object' } });
  });

  it('gives a reasoning item with the thinking as its summary, before the message; a max_tokens stop is incomplete', async () => {
    await mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/thinking.sse' }]);
    const response = await sdkClient(gateway).responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'What is 27 * 453?' });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(response.output[0]).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: '27 * 453: 27 * 400 = 10800, 27 * 53 = 1431, total 12231.' }] });
    expect(response.output_text).toBe('27 * 453 = 12,231');
  });
});

describe('POST /v1/responses, streaming', () => {
  it('streams the semantic events in order, numbered from 0, with stable item ids, ending in response.completed', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['Hel', 'lo'], usage: { prompt_tokens: 5, completion_tokens: 2, cached_tokens: 1 } }]);
    const stream = sdkClient(gateway).responses.stream({ model: 'openai/gpt-4o', input: 'Say hello' });
    const events = await collect(stream);
    const final = await stream.finalResponse();

    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const created = events[0];
    if (created?.type !== 'response.created') throw new Error('expected response.created first');
    expect(created.response).toMatchObject({ status: 'in_progress', output: [], model: 'openai/gpt-4o' });
    const itemIds = new Set(events.flatMap((event) => ('item_id' in event ? [event.item_id] : 'item' in event ? [event.item.id] : [])));
    expect([...itemIds]).toEqual([final.output[0]?.id]);
    expect(events.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta)).toEqual(['Hel', 'lo']);
    expect(final.id).toBe(created.response.id);
    expect(final.output_text).toBe('Hello');
    expect(final.usage).toMatchObject({ input_tokens: 5, output_tokens: 2, input_tokens_details: { cached_tokens: 1 } });
  });

  it('sends the x-agent-* headers before the first event', async () => {
    await mocks.groq.script([{ kind: 'stream', deltas: ['Hi'] }]);
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'groq/llama-3.3-70b-versatile', input: 'Hi', stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-agent-provider')).toBe('groq');
    expect(response.headers.get('x-agent-model')).toBe('groq/llama-3.3-70b-versatile');
    const text = await response.text();
    expect(text.startsWith('event: response.created\ndata: {')).toBe(true);
    expect(text).not.toContain('[DONE]');
  });

  it('streams a function call: the item first with its call_id and name, then the argument deltas, then done', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: [], toolCalls: [{ id: 'call_s1', name: 'get_weather', arguments: '{"city":"Oslo"}' }], finishReason: 'tool_calls' }]);
    const stream = sdkClient(gateway).responses.stream({ model: 'openai/gpt-4o', input: 'Weather in Oslo?', tools: [weatherTool] });
    const events = await collect(stream);
    const added = events.find((event) => event.type === 'response.output_item.added');
    expect(added).toMatchObject({ output_index: 0, item: { type: 'function_call', call_id: 'call_s1', name: 'get_weather', arguments: '', status: 'in_progress' } });
    const deltas = events.filter((event) => event.type === 'response.function_call_arguments.delta');
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.map((event) => event.delta).join('')).toBe('{"city":"Oslo"}');
    expect(events.find((event) => event.type === 'response.function_call_arguments.done')).toMatchObject({ arguments: '{"city":"Oslo"}', output_index: 0 });
    const final = await stream.finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'function_call', status: 'completed', arguments: '{"city":"Oslo"}' });
  });

  it('streams reasoning as reasoning summary events before the text', async () => {
    await mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/thinking.sse' }]);
    const events = await collect(sdkClient(gateway).responses.stream({ model: 'anthropic/claude-sonnet-4-5', input: 'What is 27 * 453?' }));
    const types = events.map((event) => event.type);
    expect(types.slice(2, 6)).toEqual([
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
    ]);
    expect(types.indexOf('response.reasoning_summary_part.done')).toBeLessThan(types.indexOf('response.content_part.added'));
    expect(types.at(-1)).toBe('response.incomplete');
  });

  it('a stream cut after the first tokens ends with error and response.failed on the wire, never response.completed', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['one ', 'two ', 'three'], cutAfter: 2 }]);
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Count', stream: true, fallback_models: ['anthropic/claude-sonnet-4-5'] }));
    const events = [...(await response.text()).matchAll(/^event: (.+)\ndata: (.+)$/gm)].map(([, type, data]) => ({ type, data: JSON.parse(data ?? '{}') as Record<string, unknown> }));
    const types = events.map((event) => event.type);
    expect(types).not.toContain('response.completed');
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(events.at(-2)?.data).toMatchObject({ type: 'error', code: 'upstream_stream_error', sequence_number: events.length - 2 });
    expect(events.at(-1)?.data).toMatchObject({ response: { status: 'failed', error: { code: 'upstream_stream_error' } } });
    expect(events.every((event) => event.data['type'] === event.type)).toBe(true);
    // Committed to OpenAI at its first token: the backup is never asked.
    expect(await mocks.anthropic.calls()).toHaveLength(0);
  });

  it('the SDK sees the failure: its stream stops at the error event and finalResponse never reports completed', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['one ', 'two ', 'three'], cutAfter: 2 }]);
    const stream = sdkClient(gateway).responses.stream({ model: 'openai/gpt-4o', input: 'Count' });
    const types: string[] = [];
    stream.on('event', (event) => types.push(event.type));
    const outcome = await stream.finalResponse().then(
      (final) => final.status,
      (error: unknown) => (error instanceof Error ? error.name : 'thrown'),
    );
    expect(types).toContain('error');
    expect(types).not.toContain('response.completed');
    expect(outcome).not.toBe('completed');
  });
});

describe('POST /v1/responses on the one agent layer', () => {
  it('falls back to a backup when the primary refuses its key, and says so in the headers and attempts', async () => {
    await mocks.openai.script([{ kind: 'status', status: 401 }]);
    await mocks.anthropic.script([{ kind: 'reply', content: 'From the backup' }]);
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Hi', fallback_models: ['anthropic/claude-sonnet-4-5'] }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(response.headers.get('x-agent-attempts')).toBe('2');
    const body = (await response.json()) as { model: string; agent: { attempts: Array<{ provider: string; status: number }> } };
    expect(body.model).toBe('anthropic/claude-sonnet-4-5');
    expect(body.agent.attempts.map((attempt) => [attempt.provider, attempt.status])).toEqual([
      ['openai', 401],
      ['anthropic', 200],
    ]);
  });

  it('without streaming, commits at the finish: an answer cut halfway is retried and the client sees only the whole one', async () => {
    await mocks.openai.script([
      { kind: 'stream', deltas: ['par', 'tial'], cutAfter: 1 },
      { kind: 'reply', content: 'Whole answer' },
    ]);
    const { data: response, response: raw } = await sdkClient(gateway).responses.create({ model: 'openai/gpt-4o', input: 'Hi' }).withResponse();
    expect(response.output_text).toBe('Whole answer');
    expect(response.output).toHaveLength(1);
    expect(raw.headers.get('x-agent-attempts')).toBe('2');
  });

  it('a client that stops reading a stream aborts the upstream call', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['a', 'b', 'c', 'd'], stallAfter: 2 }]);
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Hi', stream: true }));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const calls = await mocks.openai.waitForCalls({ count: 1, aborted: 1 });
    expect(calls[0]?.aborted).toBe(true);
  });
});

describe('POST /v1/responses, bad input', () => {
  async function badRequest(body: Record<string, unknown>): Promise<{ status: number; error: { param: string | null; code: string | null; type: string; message: string } }> {
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'openai/gpt-4o', input: 'Hi', ...body }));
    return { status: response.status, error: ((await response.json()) as { error: { param: string | null; code: string | null; type: string; message: string } }).error };
  }

  it.each([
    ['an unknown field', { background: true }, 'background'],
    ['a hosted tool', { tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    ['truncation auto', { truncation: 'auto' }, 'truncation'],
    ['logprobs in include', { include: ['message.output_text.logprobs'] }, 'include[0]'],
    ['an input_file part', { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, 'input[0].content[0]'],
    ['an image by file id', { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }, 'input[0].content[0].file_id'],
    ['a previous response that was never stored', { previous_response_id: 'resp_0123456789abcdef' }, 'previous_response_id'],
    ['an item reference to nothing stored', { input: [{ type: 'item_reference', id: 'msg_0123456789abcdef_0' }] }, 'input[0].id'],
    ['an empty input', { input: [] }, 'input'],
  ])('refuses %s with a 400 naming the field', async (_what, body, param) => {
    const { status, error } = await badRequest(body);
    expect(status).toBe(400);
    expect(error).toMatchObject({ type: 'invalid_request_error', param });
    expect(await mocks.openai.calls()).toHaveLength(0);
  });

  it("names this route's field when a provider refuses the translated one (reasoning.effort on Anthropic)", async () => {
    const response = await gateway.fetch('/v1/responses', chatInit({ model: 'anthropic/claude-sonnet-4-5', input: 'Hi', reasoning: { effort: 'high' } }));
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe('reasoning.effort');
    expect(error.message).toContain("'reasoning.effort'");
  });

  it('answers an upstream failure before commit with its status, and the SDK raises it', async () => {
    await mocks.openai.script([{ kind: 'status', status: 404 }]);
    await expect(sdkClient(gateway).responses.create({ model: 'openai/gpt-4o', input: 'Hi' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers 405 with Allow on other methods', async () => {
    const response = await gateway.fetch('/v1/responses', { method: 'GET', headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
