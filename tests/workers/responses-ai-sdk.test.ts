/**
 * The Vercel AI SDK's default `openai('…')` provider, which speaks the
 * Responses API, against the Worker in workerd: generateText and streamText,
 * a tool loop two steps deep (stateless with `store: false`, or through stored
 * item references with `store: true` against the real sqld).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import * as z from 'zod';
import { GATEWAY_KEY, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('responses-ai-sdk');
let gateway: TestGateway;
const paths: string[] = [];

beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  paths.length = 0;
  await mocks.resetAll();
});

/** The AI SDK's OpenAI provider, its requests served by `gateway` in this isolate (with the test sqld). */
function provider(): ReturnType<typeof createOpenAI> {
  return createOpenAI({
    apiKey: GATEWAY_KEY,
    baseURL: 'http://gateway.test/v1',
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      paths.push(url.pathname);
      return gateway.fetch(url.pathname + url.search, init, { TURSO_DATABASE_URL: inject('sqldUrl'), TURSO_AUTH_TOKEN: '' });
    },
  });
}

const weather = tool({
  description: 'Weather for a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }: { city: string }) => ({ city, sky: 'sunny' }),
});

interface UpstreamChat {
  messages: Array<Record<string, unknown>>;
}

describe('the AI SDK on /v1/responses', () => {
  it('generateText answers through POST /v1/responses with the usage', async () => {
    await mocks.openai.script([{ kind: 'reply', content: 'Hello from the gateway', usage: { prompt_tokens: 7, completion_tokens: 4 } }]);
    const result = await generateText({ model: provider()('openai/gpt-4o'), prompt: 'Say hello', maxRetries: 0 });
    expect(paths).toEqual(['/v1/responses']);
    expect(result.text).toBe('Hello from the gateway');
    expect(result.usage).toMatchObject({ inputTokens: 7, outputTokens: 4 });
    expect(result.finishReason).toBe('stop');
  });

  it('streamText streams the text deltas and finishes', async () => {
    await mocks.anthropic.script([{ kind: 'stream', deltas: ['Bon', 'jour'] }]);
    const result = streamText({ model: provider()('anthropic/claude-sonnet-4-5'), prompt: 'Say hello in French', maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.join('')).toBe('Bonjour');
    expect(await result.finishReason).toBe('stop');
  });

  it('streamText with a tool: the call arrives with its input, is executed, and the second step answers (store: false)', async () => {
    await mocks.openai.script([
      { kind: 'stream', deltas: [], toolCalls: [{ id: 'call_ai1', name: 'weather', arguments: '{"city":"Paris"}' }], finishReason: 'tool_calls' },
      { kind: 'stream', deltas: ['Sunny in Paris.'] },
    ]);
    const result = streamText({
      model: provider()('openai/gpt-4o'),
      prompt: 'Weather in Paris?',
      tools: { weather },
      stopWhen: stepCountIs(2),
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });
    let text = '';
    for await (const piece of result.textStream) text += piece;
    expect(text).toBe('Sunny in Paris.');
    const steps = await result.steps;
    expect(steps[0]?.toolCalls).toMatchObject([{ toolCallId: 'call_ai1', toolName: 'weather', input: { city: 'Paris' } }]);
    expect(steps[0]?.toolResults).toMatchObject([{ output: { city: 'Paris', sky: 'sunny' } }]);
    const second = (await mocks.openai.calls())[1]?.body as UpstreamChat;
    expect(second.messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_ai1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_ai1', content: JSON.stringify({ city: 'Paris', sky: 'sunny' }) },
    ]);
  });

  it('generateText with a tool and store: true continues through item references resolved from the database', async () => {
    await mocks.openai.script([
      { kind: 'reply', toolCalls: [{ id: 'call_ai2', name: 'weather', arguments: '{"city":"Rome"}' }], finishReason: 'tool_calls' },
      { kind: 'reply', content: 'Sunny in Rome.' },
    ]);
    const result = await generateText({
      model: provider()('openai/gpt-4o'),
      prompt: 'Weather in Rome?',
      tools: { weather },
      stopWhen: stepCountIs(2),
      providerOptions: { openai: { store: true } },
      maxRetries: 0,
    });
    expect(result.text).toBe('Sunny in Rome.');
    const secondRequest = (await mocks.openai.calls())[1]?.body as UpstreamChat;
    expect(secondRequest.messages.slice(1, 2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_ai2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
    ]);
  });

  it('runs a tool loop by default: function calls go back as items, never as references', async () => {
    await mocks.openai.script([
      { kind: 'reply', toolCalls: [{ id: 'call_ai3', name: 'weather', arguments: '{"city":"Oslo"}' }], finishReason: 'tool_calls' },
      { kind: 'reply', content: 'Sunny in Oslo.' },
    ]);
    const result = await generateText({ model: provider()('openai/gpt-4o'), prompt: 'Weather in Oslo?', tools: { weather }, stopWhen: stepCountIs(2), maxRetries: 0 });
    expect(result.text).toBe('Sunny in Oslo.');
    expect(paths).toEqual(['/v1/responses', '/v1/responses']);
  });

  it('a later turn that reuses response.messages needs store set: without it a 400 says so; with store: false it works', async () => {
    await mocks.openai.script([
      { kind: 'reply', content: 'Paris.' },
      { kind: 'reply', content: 'Lyon.' },
    ]);
    const model = provider()('openai/gpt-4o');
    const first = await generateText({ model, prompt: 'Capital of France?', maxRetries: 0 });
    const history = [{ role: 'user' as const, content: 'Capital of France?' }, ...first.response.messages, { role: 'user' as const, content: 'Second city?' }];

    // The SDK assumes OpenAI's default of store: true and names the earlier answer by id.
    await expect(generateText({ model, messages: history, maxRetries: 0 })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('store') });
    const second = await generateText({ model, messages: history, providerOptions: { openai: { store: false } }, maxRetries: 0 });
    expect(second.text).toBe('Lyon.');
    const upstream = (await mocks.openai.calls())[1]?.body as UpstreamChat;
    expect(upstream.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Capital of France?' }] },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: [{ type: 'text', text: 'Second city?' }] },
    ]);
  });
});
