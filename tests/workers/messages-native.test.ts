/**
 * POST /v1/messages and count_tokens for `anthropic/…` models: a native
 * passthrough under the same agent guarantees, driven by the official
 * @anthropic-ai/sdk inside workerd against a loopback mock that speaks
 * Anthropic's wire format. What a client must see: the recorded frames
 * exactly as Anthropic sent them, thinking signatures intact,
 * cache_control, server-tool blocks and beta headers reaching Anthropic
 * untouched, a fallback to a translated backup before the commit, an
 * overloaded Anthropic as a 529, and MODEL_ALIASES resolving bare names.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import errorMidStream from '../fixtures/anthropic/error-mid-stream.sse?raw';
import thinkingFixture from '../fixtures/anthropic/thinking.sse?raw';
import toolCallFixture from '../fixtures/anthropic/tool-call.sse?raw';
import { mockTokenCount } from '../helpers/mock-provider-anthropic.ts';
import { chatInit, GATEWAY_KEY } from './chat-gateway-fixture.ts';
import { anthropicClient, messagesInit, messagesSuite, namedEvents, readNamedEvents } from './messages-fixture.ts';

const suite = messagesSuite('messages-native');
const { mocks } = suite;

const hi = [{ role: 'user' as const, content: 'Hi' }];

describe('a native passthrough for anthropic/… models', () => {
  it('forwards every recorded frame of a thinking stream exactly as Anthropic sent it', async () => {
    await mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/thinking.sse', chunkSize: 13 }]);
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 64, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: hi }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(await readNamedEvents(response)).toEqual(namedEvents(thinkingFixture));
  });

  it('gives messages.create the thinking block with its signature, and Anthropic’s own usage and stop reason', async () => {
    await mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/thinking.sse' }]);
    const { data: message, response } = await suite.client().messages
      .create({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 64, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: hi })
      .withResponse();
    expect(message.id).toBe('msg_01A8sVq2LmZ7cWx3Pk9RtYbN');
    expect(message.model).toBe('claude-sonnet-4-5-20250929');
    expect(message.content).toEqual([
      { type: 'thinking', thinking: '27 * 453: 27 * 400 = 10800, 27 * 53 = 1431, total 12231.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' },
      { type: 'text', text: '27 * 453 = 12,231' },
    ]);
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage).toMatchObject({ input_tokens: 54, output_tokens: 61, cache_read_input_tokens: 0 });
    expect(response.headers.get('x-agent-provider')).toBe('anthropic');
    expect((message as unknown as { agent: { attempts: unknown[] } }).agent.attempts).toHaveLength(1);
  });

  it('sends Anthropic the client’s body untouched but for the model: cache_control, server-tool blocks, thinking; and its version and beta headers', async () => {
    await mocks.anthropic.script([{ kind: 'reply', content: 'Cached' }]);
    const body = {
      model: 'anthropic/claude-sonnet-4-5',
      max_tokens: 128,
      system: [{ type: 'text', text: 'A long, cached system prompt.', cache_control: { type: 'ephemeral' } }],
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Search the news', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I should search.', signature: 'EqQBCgIYAhIM-real-signature' },
            { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'news' } },
            { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Example', encrypted_content: 'abc' }] },
          ],
        },
        { role: 'user', content: 'Go on' },
      ],
      fallback_models: ['openai/gpt-4o'],
    };
    const response = await suite.gateway().fetch('/v1/messages', messagesInit(body, { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31' }));
    expect(response.status).toBe(200);
    const [call] = await mocks.anthropic.calls();
    const { model: _model, fallback_models: _fallbacks, ...rest } = body;
    expect(call?.body).toEqual({ ...rest, model: 'claude-sonnet-4-5', stream: true });
    expect(call?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(call?.headers['anthropic-version']).toBe('2023-06-01');
    expect(call?.headers['x-api-key']).not.toBe(GATEWAY_KEY);
  });

  it('leaves out the unsigned thinking blocks a translated backend wrote earlier, which Anthropic would refuse', async () => {
    await suite.mocks.anthropic.script([{ kind: 'reply', content: 'Go on' }]);
    const signed = { type: 'thinking', thinking: 'Anthropic thought this.', signature: 'EqQBCgIYAhIM-real-signature' };
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({
        model: 'anthropic/claude-sonnet-4-5',
        max_tokens: 32,
        messages: [
          { role: 'user', content: 'One' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'A backup thought this.', signature: '' }, { type: 'text', text: 'Uno' }] },
          { role: 'user', content: 'Two' },
          { role: 'assistant', content: [signed, { type: 'text', text: 'Dos' }] },
          { role: 'user', content: 'Three' },
        ],
      }),
    );
    expect(response.status).toBe(200);
    const [call] = await suite.mocks.anthropic.calls();
    expect((call?.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'One' },
      { role: 'assistant', content: [{ type: 'text', text: 'Uno' }] },
      { role: 'user', content: 'Two' },
      { role: 'assistant', content: [signed, { type: 'text', text: 'Dos' }] },
      { role: 'user', content: 'Three' },
    ]);
  });

  it('keeps Anthropic’s tool_use ids and parses their input', async () => {
    await mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/tool-call.sse' }]);
    const stream = suite.client().messages.stream({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 256, messages: hi });
    const message = await stream.finalMessage();
    const uses = message.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
    expect(uses.map((use) => use.id)).toEqual(['toolu_01T1x1fJ34qAmk2tNTrN7Up6', 'toolu_01Hk8pQx3vFz2sLr7mYwNc5D']);
    expect(uses[0]?.input).toEqual({ location: 'Paris, France', unit: 'celsius' });
    expect(toolCallFixture).toContain('toolu_01T1x1fJ34qAmk2tNTrN7Up6');
  });

  it('ends with an error event and no message_stop when Anthropic fails mid-stream', async () => {
    await mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/error-mid-stream.sse' }]);
    const response = await suite.gateway().fetch('/v1/messages', messagesInit({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 64, stream: true, messages: hi }));
    const events = await readNamedEvents(response);
    const recorded = namedEvents(errorMidStream);
    // What Anthropic sent before its error is forwarded as it came.
    expect(events.slice(0, 3)).toEqual(recorded.slice(0, 3));
    expect(events.map((event) => event.event)).not.toContain('message_stop');
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });
});

describe('the same agent guarantees on the passthrough', () => {
  it('falls back to a translated backup when Anthropic is overloaded before the first token', async () => {
    await mocks.anthropic.setDefault({ kind: 'status', status: 529 });
    await mocks.openai.script([{ kind: 'reply', content: 'From the backup' }]);
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 64, messages: hi, fallback_models: ['openai/gpt-4o'] }),
    );
    expect(response.status).toBe(200);
    const message = (await response.json()) as { model: string; content: unknown[]; agent: { attempts: Array<{ model_id: string; status: number }> } };
    expect(message.content).toEqual([{ type: 'text', text: 'From the backup' }]);
    expect(message.model).toBe('openai/gpt-4o');
    expect(response.headers.get('x-agent-model')).toBe('openai/gpt-4o');
    expect(Number(response.headers.get('x-agent-attempts'))).toBeGreaterThanOrEqual(2);
    expect(message.agent.attempts[0]).toMatchObject({ model_id: 'anthropic/claude-sonnet-4-5', status: 529 });
    const [sent] = await mocks.openai.calls();
    expect(sent?.body).toMatchObject({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('answers an Anthropic that stays overloaded with a 529 overloaded_error and the retry hints', async () => {
    await mocks.anthropic.setDefault({ kind: 'status', status: 529 });
    const error = await suite.client().messages.create({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 8, messages: hi }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(529);
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(apiError.headers?.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(apiError.headers?.get('retry-after-ms')).toMatch(/^[0-9]+$/);
  });

  it('refuses a document block with a 400 naming it when only a translated backup is left to serve it', async () => {
    await mocks.anthropic.setDefault({ kind: 'status', status: 401 });
    const response = await suite.gateway().fetch(
      '/v1/messages',
      messagesInit({
        model: 'anthropic/claude-sonnet-4-5',
        max_tokens: 8,
        fallback_models: ['openai/gpt-4o'],
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }],
      }),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('messages[0].content[0]');
    expect(await mocks.openai.calls()).toHaveLength(0);
  });
});

describe('count_tokens', () => {
  it('asks Anthropic’s own count_tokens for anthropic/… models, with the prompt as the client wrote it', async () => {
    const body = { model: 'anthropic/claude-sonnet-4-5', system: 'Be brief.', messages: [{ role: 'user', content: 'Count these words, please' }] };
    const count = await suite.client().messages.countTokens(body as Anthropic.MessageCountTokensParams);
    const [call] = await mocks.anthropic.calls();
    expect(call?.path).toBe('/v1/messages/count_tokens');
    expect(call?.body).toEqual({ model: 'claude-sonnet-4-5', system: 'Be brief.', messages: body.messages });
    expect(count.input_tokens).toBe(mockTokenCount(call?.body));
  });

  it('estimates for other backends and says so', async () => {
    const response = await suite.gateway().fetch(
      '/v1/messages/count_tokens',
      messagesInit({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(400) }] }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-token-count')).toBe('estimate');
    const { input_tokens } = (await response.json()) as { input_tokens: number };
    expect(input_tokens).toBeGreaterThanOrEqual(100);
    expect(input_tokens).toBeLessThan(120);
    expect(await mocks.openai.calls()).toHaveLength(0);
  });
});

describe('MODEL_ALIASES', () => {
  const aliases = { MODEL_ALIASES: JSON.stringify({ 'claude-sonnet': 'anthropic/claude-sonnet-4-5', coder: 'openai/gpt-4o' }) };

  it('serves a bare Claude name natively and names the model that really served', async () => {
    await mocks.anthropic.script([{ kind: 'reply', content: 'Aliased' }]);
    const { data: message, response } = await anthropicClient(suite.gateway(), aliases)
      .messages.create({ model: 'claude-sonnet', max_tokens: 8, messages: hi })
      .withResponse();
    expect(message.content).toEqual([{ type: 'text', text: 'Aliased' }]);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    const [call] = await mocks.anthropic.calls();
    expect((call?.body as { model: string }).model).toBe('claude-sonnet-4-5');
  });

  it('resolves an alias on chat completions too, and lists it as itself', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'From the coder' }]);
    const chat = await suite.gateway().fetch('/v1/chat/completions', chatInit({ model: 'coder', messages: hi }), aliases);
    expect(chat.status).toBe(200);
    expect(chat.headers.get('x-agent-model')).toBe('openai/gpt-4o');
    const models = await suite.gateway().fetch('/v1/models', { headers: { authorization: `Bearer ${GATEWAY_KEY}` } }, aliases);
    const list = (await models.json()) as { data: Array<{ id: string; owned_by: string }> };
    expect(list.data).toContainEqual(expect.objectContaining({ id: 'coder', owned_by: 'openai' }));
    expect(list.data).toContainEqual(expect.objectContaining({ id: 'claude-sonnet', owned_by: 'anthropic' }));
    const one = await suite.gateway().fetch('/v1/models/coder', { headers: { authorization: `Bearer ${GATEWAY_KEY}` } }, aliases);
    expect(await one.json()).toMatchObject({ id: 'coder', object: 'model', owned_by: 'openai' });
  });

  it('answers a malformed MODEL_ALIASES with a generic 500 whose log line names the variable', async () => {
    const response = await suite.gateway().fetch('/v1/messages', messagesInit({ model: 'coder', max_tokens: 8, messages: hi }), { MODEL_ALIASES: '{"coder": "gpt-4o"}' });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(suite.gateway().logs.join('\n')).toContain('MODEL_ALIASES is invalid at coder');
  });
});

describe('the fallback matrix on /v1/messages: a translated primary, a native backup', () => {
  const body = (stream: boolean) => ({ model: 'openai/gpt-4o', max_tokens: 32, stream, fallback_models: ['anthropic/claude-sonnet-4-5'], messages: hi });

  it.each([
    [503, false],
    [503, true],
    [429, true],
    [401, false],
  ])('an OpenAI %i before the first token goes to Anthropic, natively (stream: %s)', async (status, stream) => {
    await suite.mocks.openai.setDefault({ kind: 'status', status, headers: { 'retry-after': '0' } });
    await suite.mocks.anthropic.script([{ kind: 'replay', fixture: 'anthropic/thinking.sse' }]);
    const response = await suite.gateway().fetch('/v1/messages', messagesInit(body(stream)));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(Number(response.headers.get('x-agent-attempts'))).toBeGreaterThanOrEqual(2);
    if (stream) {
      expect(await readNamedEvents(response)).toEqual(namedEvents(thinkingFixture));
    } else {
      const message = (await response.json()) as { content: Array<{ type: string; signature?: string }> };
      expect(message.content[0]).toMatchObject({ type: 'thinking', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' });
    }
    const [sent] = await suite.mocks.anthropic.calls();
    expect(sent?.body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: hi, stream: true });
  });

  it('answers the primary’s own 400 at once, in Anthropic’s shape, without asking the backup', async () => {
    await suite.mocks.openai.script([{ kind: 'status', status: 400 }]);
    const response = await suite.gateway().fetch('/v1/messages', messagesInit(body(false)));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(await suite.mocks.anthropic.calls()).toHaveLength(0);
  });

  it('after the first token, a failure is an error event: no fallback, no message_stop', async () => {
    await suite.mocks.openai.script([{ kind: 'stream', deltas: ['Half ', 'an ', 'answer'], cutAfter: 2 }]);
    const response = await suite.gateway().fetch('/v1/messages', messagesInit(body(true)));
    const events = await readNamedEvents(response);
    expect(events.map((event) => event.event)).not.toContain('message_stop');
    expect(events.at(-1)?.event).toBe('error');
    expect(await suite.mocks.anthropic.calls()).toHaveLength(0);
  });
});
