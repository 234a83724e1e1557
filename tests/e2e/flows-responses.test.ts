/**
 * The Responses API with every real process: sqld (migrated, the
 * stored_responses table included), the Worker under wrangler dev, the real
 * bridge with its Python worker on the REAL mlx-lm serving the tiny trained
 * model (tests/models; its answers are tiny-chat-answers.json), the loopback
 * mocks, and the official openai client and the AI SDK as a user runs them.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerCase } from '../helpers/mlx-real-engine.ts';
import { TINY_CHAT_MODEL, type BridgeProcess } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

const MLX_MODEL = TINY_CHAT_MODEL;
const hello = answerCase('hello');
const count = answerCase('count');
const ask = (answer: typeof hello): string => answer.messages[0]?.content ?? '';

let stack: Stack;
let bridge: BridgeProcess;

beforeAll(async () => {
  stack = await startStack();
  bridge = await stack.startBridge('mlx', { engine: 'real' });
});

afterAll(async () => {
  await bridge?.stop('SIGTERM');
  await stack?.stop();
});

describe('POST /v1/responses over the whole stack', () => {
  it('answers a local model through the bridge, with the local metadata in the headers and the agent field', async () => {
    const { data: response, response: raw } = await stack.client.responses.create({ model: MLX_MODEL, input: ask(hello) }).withResponse();
    expect(response.output_text).toBe(hello.completion);
    expect(response.status).toBe('completed');
    expect(response.model).toBe(MLX_MODEL);
    expect(raw.headers.get('x-agent-backend')).toBe('local');
    expect(raw.headers.get('x-agent-provider')).toBe('mlx');
    expect((response as unknown as { agent: unknown }).agent).toMatchObject({ backend: 'local', provider: 'mlx', model_id: MLX_MODEL });
    expect(response.usage?.output_tokens).toBeGreaterThanOrEqual(4);
  });

  it('streams a local answer as output_text deltas, ending in response.completed', async () => {
    const stream = stack.client.responses.stream({ model: MLX_MODEL, input: ask(hello) });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(hello.completion);
    expect(types.filter((type) => type === 'response.output_text.delta').length).toBeGreaterThanOrEqual(2);
    expect(types.at(-1)).toBe('response.completed');
  });

  it('stores a response in sqld and continues it with previous_response_id, the history sent upstream', async () => {
    const openai = stack.mocks.providers.openai;
    openai.reset();
    openai.script([
      { kind: 'reply', content: 'Paris.' },
      { kind: 'reply', content: 'Lyon.' },
    ]);
    const first = await stack.client.responses.create({ model: 'openai/gpt-4o', input: 'Capital of France?', store: true });
    const fetched = await stack.client.responses.retrieve(first.id);
    expect(fetched.output_text).toBe('Paris.');
    const second = await stack.client.responses.create({ model: 'openai/gpt-4o', previous_response_id: first.id, input: 'Second city?' });
    expect(second.output_text).toBe('Lyon.');
    expect((openai.calls()[1]?.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'Second city?' },
    ]);
  });

  it("serves the AI SDK's default openai() provider with a local model", async () => {
    const provider = createOpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.secrets.GATEWAY_API_KEY });
    const result = streamText({ model: provider(MLX_MODEL), prompt: ask(hello), maxRetries: 0 });
    let text = '';
    for await (const piece of result.textStream) text += piece;
    expect(text).toBe(hello.completion);
    expect(await result.finishReason).toBe('stop');
  });

  it('a bridge killed mid-stream ends the stream with error and response.failed, never response.completed', async () => {
    // The long trained answer (over 200 tokens): the kill lands at its first delta, mid-generation.
    const response = await stack.api('/v1/responses', { method: 'POST', body: JSON.stringify({ model: MLX_MODEL, input: ask(count), max_output_tokens: 400, stream: true }) });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: response.output_text.delta')) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    bridge.child.kill('SIGKILL');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const types = [...text.matchAll(/^event: (.+)$/gm)].map(([, type]) => type);
    expect(types).not.toContain('response.completed');
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
  });
});
