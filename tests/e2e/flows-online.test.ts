/**
 * Online chat as a user sees it: the official `openai` client against the
 * Worker under `wrangler dev`, each provider served by its loopback mock (which
 * insists on the provider key the Worker holds), streaming and not, tool calls
 * and JSON mode.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { agentOf, readStream } from './stack-answers.ts';
import { startStack, type Stack } from './stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ database: false });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(() => {
  stack.mocks.reset();
});

const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

const MODELS: Record<OnlineProvider, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-sonnet-4-5',
  xai: 'grok-4',
  groq: 'llama-3.3-70b-versatile',
};
const PROVIDERS = Object.keys(MODELS) as OnlineProvider[];

/** The key the provider's mock saw, in that provider's own header. */
function keySeenBy(provider: OnlineProvider): string | undefined {
  const headers = stack.mocks.providers[provider].calls().at(-1)?.headers ?? {};
  return provider === 'anthropic' ? headers['x-api-key'] : headers['authorization']?.replace(/^Bearer /, '');
}

function keyOf(provider: OnlineProvider): string {
  const names = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', xai: 'XAI_API_KEY', groq: 'GROQ_API_KEY' } as const;
  return stack.secrets[names[provider]];
}

function upstreamBody(provider: OnlineProvider): Record<string, unknown> {
  return stack.mocks.providers[provider].calls().at(-1)?.body as Record<string, unknown>;
}

describe.each(PROVIDERS)('%s through the gateway', (provider) => {
  const model = `${provider}/${MODELS[provider]}`;

  it('answers a plain request with the upstream text, usage and who served it', async () => {
    stack.mocks.providers[provider].script([{ kind: 'reply', content: `Plain answer from ${provider}`, usage: { prompt_tokens: 9, completion_tokens: 4 } }]);
    const { data: completion, response } = await stack.client.chat.completions.create({ model, messages: ask('Say hello') }).withResponse();

    expect(completion.choices[0]?.message.content).toBe(`Plain answer from ${provider}`);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.model).toBe(model);
    expect(completion.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
    expect(response.headers.get('x-agent-backend')).toBe('online');
    expect(response.headers.get('x-agent-provider')).toBe(provider);
    expect(response.headers.get('x-agent-model')).toBe(model);
    expect(response.headers.get('x-agent-attempts')).toBe('1');
    expect(response.headers.get('x-agent-latency-ms')).toMatch(/^\d+$/);
    expect(agentOf(completion)).toMatchObject({ backend: 'online', provider, model_id: model, attempts: [{ provider, model_id: model, status: 200 }] });
    // The upstream got the bare model id and the provider's own key.
    expect(upstreamBody(provider)['model']).toBe(MODELS[provider]);
    expect(keySeenBy(provider)).toBe(keyOf(provider));
  });

  it('streams the upstream deltas in order, ending with the finish reason and usage', async () => {
    const deltas = ['Stre', 'amed ', 'from ', provider, ' ✓'];
    stack.mocks.providers[provider].script([{ kind: 'stream', deltas, usage: { prompt_tokens: 7, completion_tokens: 5 } }]);
    const { data: stream, response } = await stack.client.chat.completions
      .create({ model, messages: ask('Stream please'), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-agent-provider')).toBe(provider);
    const streamed = await readStream(stream);

    expect(streamed.text).toBe(deltas.join(''));
    expect(streamed.finishReason).toBe('stop');
    expect(streamed.model).toBe(model);
    expect(streamed.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    expect(upstreamBody(provider)['stream']).toBe(true);
  });

  it('returns a tool call with its arguments, streamed and not', async () => {
    const weather: OpenAI.ChatCompletionTool = {
      type: 'function',
      function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    };
    const toolCalls = [{ name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }];
    stack.mocks.providers[provider].script([
      { kind: 'reply', toolCalls },
      { kind: 'stream', deltas: [], toolCalls },
    ]);

    const completion = await stack.client.chat.completions.create({ model, messages: ask('Weather in Paris?'), tools: [weather] });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    expect(call?.type === 'function' && call.function).toEqual({ name: 'get_weather', arguments: toolCalls[0]?.arguments });
    expect(call?.id).toBeTruthy();
    // The tool reached the upstream in its own vocabulary.
    const sentTools = upstreamBody(provider)['tools'] as Array<Record<string, unknown>>;
    expect(JSON.stringify(sentTools)).toContain('get_weather');

    const streamed = await readStream(await stack.client.chat.completions.create({ model, messages: ask('Weather in Paris?'), tools: [weather], stream: true }));
    expect(streamed.finishReason).toBe('tool_calls');
    expect(streamed.toolCalls).toEqual([{ id: expect.stringMatching(/\S/), name: 'get_weather', arguments: toolCalls[0]?.arguments }]);
    expect(JSON.parse(streamed.toolCalls[0]?.arguments ?? '')).toEqual({ city: 'Paris', unit: 'celsius' });
  });

  it('asks the upstream for JSON in JSON mode and hands the JSON back untouched', async () => {
    const json = '{"answer":42,"unit":"none"}';
    stack.mocks.providers[provider].script([{ kind: 'reply', content: json }]);
    const completion = await stack.client.chat.completions.create({ model, messages: ask('Answer as JSON'), response_format: { type: 'json_object' } });
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual({ answer: 42, unit: 'none' });

    const sent = upstreamBody(provider);
    if (provider === 'anthropic') {
      // The Messages API has no response_format: the gateway asks in the system prompt (docs/providers.md).
      expect(sent['response_format']).toBeUndefined();
      expect(JSON.stringify(sent['system'])).toMatch(/JSON object/);
    } else {
      expect(sent['response_format']).toEqual({ type: 'json_object' });
    }
  });
});

describe('the model list', () => {
  it('offers every configured provider as provider/id', async () => {
    const ids: string[] = [];
    for await (const entry of stack.client.models.list()) ids.push(entry.id);
    for (const provider of PROVIDERS) expect(ids.some((id) => id.startsWith(`${provider}/`))).toBe(true);
    expect(ids).toEqual(expect.arrayContaining(['xai/grok-4', 'groq/llama-3.3-70b-versatile']));
  });
});
