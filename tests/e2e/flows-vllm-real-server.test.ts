/**
 * The bridge's vLLM runner end to end against a REAL OpenAI-compatible server:
 * the Worker, its Durable Object, the real bridge CLI with VLLM_BASE_URL, and
 * mlx-lm's own `mlx_lm.server` serving the tiny trained model from its Hub
 * cache as a user's downloaded model (vLLM cannot be installed here:
 * tests/helpers/mlx-lm-server.ts says why).
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerCase, TINY_CHAT } from '../helpers/mlx-real-engine.ts';
import { startMlxLmServer, type MlxLmServer } from '../helpers/mlx-lm-server.ts';
import { agentOf, readStream } from './stack-answers.ts';
import { startStack, type Stack } from './stack.ts';

const REPO = 'agent-gateway/tiny-chat';
const MODEL = `local/${REPO}`;
const hello = answerCase('hello');
const messages = hello.messages as OpenAI.ChatCompletionMessageParam[];

let stack: Stack;
let server: MlxLmServer;

beforeAll(async () => {
  server = await startMlxLmServer(TINY_CHAT, { asRepo: REPO });
  stack = await startStack({ database: false });
  await stack.startBridge('mlx', { engine: 'real', env: { VLLM_BASE_URL: server.baseUrl } });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
});

describe('the vLLM runner through the tunnel, on a real OpenAI-compatible server', () => {
  it('offers what the server serves as a local model', async () => {
    const ids = (await stack.client.models.list()).data.map((model) => model.id);
    expect(ids).toContain(MODEL);
  });

  it('answers without streaming with the model’s trained answer and the vllm metadata', async () => {
    const { data: completion, response } = await stack.client.chat.completions.create({ model: MODEL, messages, temperature: 0 }).withResponse();
    expect(completion.choices[0]?.message.content).toBe(hello.completion);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-agent-backend')).toBe('local');
    expect(response.headers.get('x-agent-provider')).toBe('vllm');
    expect(response.headers.get('x-agent-model')).toBe(MODEL);
    expect(agentOf(completion)).toMatchObject({ backend: 'local', provider: 'vllm', model_id: MODEL, attempts: [{ status: 200 }] });
  });

  it('streams the answer, then a usage chunk, with max_tokens ending it as length', async () => {
    const stream = await stack.client.chat.completions.create({ model: MODEL, messages, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const streamed = await readStream(stream);
    expect(streamed.text).toBe(hello.completion);
    expect(streamed.finishReason).toBe('stop');
    expect(streamed.usage?.completion_tokens).toBeGreaterThan(0);

    const cut = await readStream(await stack.client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 3, stream: true, stream_options: { include_usage: true } }));
    expect(cut.finishReason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(3);
    expect(hello.completion.startsWith(cut.text)).toBe(true);
  });

  it('runs a tool loop two turns deep through the runner: the server’s parsed call as tool_calls, then the answer from the result', async () => {
    const toolCall = answerCase('tool-call');
    const toolResult = answerCase('tool-result');
    const tools = toolCall.tools as OpenAI.ChatCompletionTool[];
    const first = await stack.client.chat.completions.create({ model: MODEL, messages: toolCall.messages as OpenAI.ChatCompletionMessageParam[], tools, temperature: 0 });
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    const call = first.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

    const second = await stack.client.chat.completions.create({
      model: MODEL,
      tools,
      temperature: 0,
      messages: [
        ...(toolCall.messages as OpenAI.ChatCompletionMessageParam[]),
        { role: 'assistant', content: '', tool_calls: [{ id: call.id, type: 'function', function: { name: call.function.name, arguments: '{"city": "Paris"}' } }] },
        { role: 'tool', tool_call_id: call.id, content: toolResult.messages.at(-1)?.content ?? '' },
      ],
    });
    expect(second.choices[0]?.message.content).toBe(toolResult.completion);
  });

  it('streams a thinking block as reasoning_content, apart from the answer', async () => {
    const thinking = answerCase('thinking') as ReturnType<typeof answerCase> & { reasoning: string; content: string };
    const stream = await stack.client.chat.completions.create({ model: MODEL, messages: thinking.messages as OpenAI.ChatCompletionMessageParam[], temperature: 0, stream: true });
    let reasoning = '';
    let content = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      content += delta?.content ?? '';
    }
    expect(reasoning.trim()).toBe(thinking.reasoning);
    expect(content.trim()).toBe(thinking.content);
  });
});
