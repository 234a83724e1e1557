/**
 * POST /v1/messages over translated backends (OpenAI, xAI, Groq), driven by
 * the official @anthropic-ai/sdk inside workerd against loopback mocks that
 * speak each provider's wire format: create and stream, tools two turns
 * deep with the ids kept, reasoning as a thinking block closed before the
 * text, errors in Anthropic's shape with the statuses its clients retry on,
 * a mid-stream failure as an `error` event with no `message_stop`.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { GATEWAY_KEY, testGateway, xaiAtOpenAIMock } from './chat-gateway-fixture.ts';
import { anthropicClient, messagesInit, messagesSuite, readNamedEvents } from './messages-fixture.ts';

const suite = messagesSuite('messages');
const { mocks } = suite;

const withXai = xaiAtOpenAIMock(mocks.origins);

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { location: { type: 'string' }, unit: { type: 'string' } }, required: ['location'] },
};

describe('messages.create over a translated backend', () => {
  it('answers a Message with the text, the stop reason, the usage and the agent metadata', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Hello from OpenAI', usage: { prompt_tokens: 12, completion_tokens: 4, cached_tokens: 2 } }]);
    const { data: message, response } = await suite.client().messages
      .create({ model: 'openai/gpt-4o', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();

    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.id).toMatch(/^msg_/);
    expect(message.model).toBe('openai/gpt-4o');
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from OpenAI' }]);
    expect(message.stop_reason).toBe('end_turn');
    // Anthropic's input_tokens leaves the cached part out.
    expect(message.usage).toMatchObject({ input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 2 });
    expect(response.headers.get('x-agent-model')).toBe('openai/gpt-4o');
    expect(response.headers.get('x-agent-attempts')).toBe('1');
    expect((message as unknown as { agent: { model_id: string } }).agent.model_id).toBe('openai/gpt-4o');

    const [call] = await mocks.openai.calls();
    expect(call?.body).toMatchObject({
      model: 'gpt-4o',
      max_tokens: 64,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
    });
  });

  it('refuses a body without max_tokens with a 400 in Anthropic’s shape, before any upstream call', async () => {
    const response = await suite.gateway().fetch('/v1/messages', messagesInit({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('max_tokens');
    expect(await mocks.openai.calls()).toHaveLength(0);
  });
});

describe('messages.stream over a translated backend', () => {
  it('sends Anthropic’s exact event sequence and the SDK assembles the message', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['Hello', ' there'], usage: { prompt_tokens: 9, completion_tokens: 2 } }]);
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({ model: 'openai/gpt-4o', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-agent-provider')).toBe('openai');
    const events = await readNamedEvents(response);
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    // Every data payload names its own type, as Anthropic's do.
    for (const event of events) expect((JSON.parse(event.data) as { type: string }).type).toBe(event.event);
    expect(JSON.parse(events[6]?.data ?? '{}')).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 9, output_tokens: 2 } });

    await mocks.openai.script([{ kind: 'stream', deltas: ['Streamed', ' by', ' the', ' SDK'] }]);
    const stream = suite.client().messages.stream({ model: 'openai/gpt-4o', max_tokens: 32, messages: [{ role: 'user', content: 'Hi' }] });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect(texts.join('')).toBe('Streamed by the SDK');
    expect(message.content).toEqual([{ type: 'text', text: 'Streamed by the SDK' }]);
  });

  it('ends a stream that fails after the first token with an error event and no message_stop', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['The ', 'first ', 'words'], errorAfter: 2 }]);
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({ model: 'openai/gpt-4o', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    );
    const events = await readNamedEvents(response);
    const names = events.map((event) => event.event);
    expect(names).not.toContain('message_stop');
    expect(names.at(-1)).toBe('error');
    const error = JSON.parse(events.at(-1)?.data ?? '{}') as { type: string; error: { type: string; message: string } };
    expect(error.type).toBe('error');
    expect(error.error.message).not.toContain('SENTINEL');

    await mocks.openai.script([{ kind: 'stream', deltas: ['The ', 'first ', 'words'], errorAfter: 2 }]);
    const stream = suite.client().messages.stream({ model: 'openai/gpt-4o', max_tokens: 32, messages: [{ role: 'user', content: 'Hi' }] });
    await expect(stream.finalMessage()).rejects.toThrow();
  });
});

describe('a local model over /v1/messages', () => {
  it('streams an answer whose model reports its load and prefill several times before the first token', async () => {
    const gateway = testGateway(mocks.origins, {
      createLocalModel: (_env, modelId) => ({
        provider: 'mlx',
        modelId: `local/${modelId}`,
        async *stream() {
          yield { type: 'progress', phase: 'load' };
          yield { type: 'progress', phase: 'prefill', done: 1, total: 2 };
          yield { type: 'progress', phase: 'prefill', done: 2, total: 2 };
          yield { type: 'text-delta', text: 'Local' };
          yield { type: 'text-delta', text: ' answer' };
          yield { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } };
        },
      }),
    });
    const message = await anthropicClient(gateway).messages.stream({ model: 'local/tiny', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Local answer' }]);
    expect(message.model).toBe('local/tiny');
    expect(message.usage).toMatchObject({ input_tokens: 2, output_tokens: 2 });
  });
});

describe('tools two turns deep over a translated backend', () => {
  it('turns OpenAI tool calls into tool_use blocks and the tool_results back into tool messages with the same ids', async () => {
    await mocks.openai.script([{ kind: 'replay', fixture: 'openai/tool-call.sse' }]);
    const first = await suite.client().messages.create({
      model: 'openai/gpt-4o',
      max_tokens: 256,
      tools: [weatherTool],
      tool_choice: { type: 'auto' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    const uses = first.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
    expect(uses.length).toBeGreaterThan(0);
    expect(uses[0]?.id).toBe('call_3kGq8WmZ0fRr1yP2sTn6uVb4');
    expect(uses[0]?.name).toBe('get_weather');
    expect(uses[0]?.input).toMatchObject({ location: expect.any(String) });

    await mocks.openai.script([{ kind: 'reply', content: 'It is 18 °C in Paris.' }]);
    const second = await suite.client().messages.create({
      model: 'openai/gpt-4o',
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [...uses.map((use) => ({ type: 'tool_result' as const, tool_use_id: use.id, content: '18 °C, clear' })), { type: 'text', text: 'Thanks!' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'It is 18 °C in Paris.' }]);

    const calls = await mocks.openai.calls();
    const sent = calls[1]?.body as { messages: Array<{ role: string; tool_call_id?: string; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }>; tools: unknown[] };
    expect(sent.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherTool.input_schema } }]);
    const roles = sent.messages.map((message) => message.role);
    expect(roles).toEqual(['user', 'assistant', ...uses.map(() => 'tool'), 'user']);
    expect(sent.messages[1]?.tool_calls?.map((call) => call.id)).toEqual(uses.map((use) => use.id));
    expect(JSON.parse(sent.messages[1]?.tool_calls?.[0]?.function.arguments ?? '{}')).toEqual(uses[0]?.input);
    expect(sent.messages.filter((message) => message.role === 'tool').map((message) => message.tool_call_id)).toEqual(uses.map((use) => use.id));
  });

  it('streams tool input as input_json_delta that the SDK parses', async () => {
    await mocks.openai.script([{ kind: 'replay', fixture: 'openai/tool-call.sse', chunkSize: 13 }]);
    const stream = suite.client().messages.stream({ model: 'openai/gpt-4o', max_tokens: 256, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather?' }] });
    const pieces: string[] = [];
    stream.on('inputJson', (partial) => pieces.push(partial));
    const message = await stream.finalMessage();
    const use = message.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
    expect(pieces.length).toBeGreaterThan(1);
    expect(use?.id).toBe('call_3kGq8WmZ0fRr1yP2sTn6uVb4');
    expect(use?.input).toMatchObject({ location: expect.any(String) });
  });
});

describe('reasoning over a translated backend', () => {
  it('closes the thinking block before the tool call starts, in the stream and in the Message', async () => {
    await mocks.openai.script([{ kind: 'replay', fixture: 'xai/grok-3-mini-tool-call.sse' }]);
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({ model: 'xai/grok-3-mini', max_tokens: 512, stream: true, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather?' }] }),
      withXai,
    );
    const events = (await readNamedEvents(response)).map((event) => JSON.parse(event.data) as { type: string; index?: number; content_block?: { type: string }; delta?: { type: string } });
    const starts = events.filter((event) => event.type === 'content_block_start');
    expect(starts[0]?.content_block?.type).toBe('thinking');
    const thinkingStop = events.findIndex((event) => event.type === 'content_block_stop' && event.index === 0);
    const nextStart = events.findIndex((event) => event.type === 'content_block_start' && event.index === 1);
    expect(thinkingStop).toBeGreaterThan(0);
    expect(nextStart).toBeGreaterThan(thinkingStop);
    // The signature_delta closes the thinking block, as Anthropic's do.
    expect(events[thinkingStop - 1]?.delta?.type).toBe('signature_delta');
    expect(events.at(-1)?.type).toBe('message_stop');

    await mocks.openai.script([{ kind: 'replay', fixture: 'xai/grok-3-mini-tool-call.sse' }]);
    const message = await anthropicClient(suite.gateway(), withXai).messages.create({
      model: 'xai/grok-3-mini',
      max_tokens: 512,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather?' }],
    });
    expect(message.content[0]?.type).toBe('thinking');
    expect((message.content[0] as Anthropic.ThinkingBlock).thinking.length).toBeGreaterThan(0);
    expect(message.content.some((block) => block.type === 'tool_use')).toBe(true);
  });
});

describe('errors on /v1/messages', () => {
  it('answers a wrong x-api-key with a 401 authentication_error the SDK recognises', async () => {
    const wrong = anthropicClient(suite.gateway(), {}, 'not-the-key');
    const error = await wrong.messages.create({ model: 'openai/gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('takes the key as Bearer too, and refuses x-api-key on the OpenAI routes', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Hi' }]);
    const bearer = await suite.gateway().fetch('/v1/messages', {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(bearer.status).toBe(200);
    const chat = await suite.gateway().fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'x-api-key': GATEWAY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(chat.status).toBe(401);
    expect(((await chat.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
  });

  it('answers a rate-limited upstream with a 429 rate_limit_error and both retry hints', async () => {
    await mocks.openai.setDefault({ kind: 'status', status: 429, headers: { 'retry-after': '0' } });
    const response = await suite.gateway().fetch('/v1/messages', messagesInit({ model: 'openai/gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(response.headers.get('retry-after-ms')).toMatch(/^[0-9]+$/);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('answers a local model while no bridge is connected with a 503 overloaded_error and the bridge’s retry hint', async () => {
    const response = await suite.gateway().fetch('/v1/messages', messagesInit({ model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.headers.get('retry-after-ms')).toBe('5000');
    expect(response.headers.get('x-agent-backend')).toBe('local');
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(body.error.message).toContain('bridge');
  });

  it('answers an unknown model with a 404 not_found_error naming MODEL_ALIASES', async () => {
    const error = await suite.client().messages.create({ model: 'claude-nonexistent', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect(String((error as Error).message)).toContain('MODEL_ALIASES');
  });

  it('refuses a block only Anthropic can take with a 400 naming it, when a translated backend would serve', async () => {
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({
        model: 'openai/gpt-4o',
        max_tokens: 8,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise' }, { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }],
      }),
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('messages[0].content[1]');
    expect(await mocks.openai.calls()).toHaveLength(0);
  });

  it('answers a method other than POST with a 405, and an unknown path under /v1/messages with a 404, in Anthropic’s shape', async () => {
    const response = await suite.gateway().fetch('/v1/messages', { method: 'GET', headers: { 'x-api-key': GATEWAY_KEY } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const counting = await suite.gateway().fetch('/v1/messages/count_tokens', { method: 'PUT', headers: { 'x-api-key': GATEWAY_KEY } });
    expect(counting.status).toBe(405);
    expect(counting.headers.get('allow')).toBe('POST');
    expect(await counting.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const unknown = await suite.gateway().fetch('/v1/messages/batches', messagesInit({}));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});
