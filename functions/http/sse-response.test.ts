import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { AgentResult } from '../agents/agent-types.ts';
import { collectCompletion } from './json-response.ts';
import { sseResponse } from './sse-response.ts';
import { scrubbedErrorBody } from './error-response.ts';

const metadata: AgentResult['metadata'] = {
  backend: 'local',
  provider: 'mlx',
  model_id: 'local/llama',
  latency_ms: 12,
  attempts: [{ provider: 'mlx', model_id: 'local/llama', status: 200, error_type: null, latency_ms: 12 }],
};

function resultOf(events: AsyncIterable<ChatEvent>): AgentResult {
  return { metadata, events };
}

async function* play(events: ChatEvent[], failure?: GatewayError): AsyncGenerator<ChatEvent> {
  yield* events;
  if (failure) throw failure;
}

function respond(result: AgentResult, keepAliveMs?: number, includeUsage = false): Response {
  return sseResponse(result, {
    identity: { id: 'chatcmpl-test', created: 1, model: 'local/llama', includeUsage },
    headers: { 'x-agent-model': 'local/llama' },
    deps: defaultRuntimeDeps,
    errorBody: (error) => scrubbedErrorBody(error, (text) => text.replaceAll('sk-secret-value', '[redacted]')),
    keepAliveMs,
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the SSE response', () => {
  it('turns progress into comments and ends with [DONE]', async () => {
    const text = await respond(
      resultOf(play([{ type: 'progress', phase: 'load', done: 3, total: 10 }, { type: 'text-delta', text: 'Hi' }, { type: 'finish', finishReason: 'stop' }])),
    ).text();
    expect(text).toContain(': progress load 3/10\n\n');
    const role = text.indexOf('"role":"assistant"');
    expect(role).toBeGreaterThanOrEqual(0);
    expect(role).toBeLessThan(text.indexOf('"content":"Hi"'));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a failure after the first token is an error event with a scrubbed message, and no [DONE]', async () => {
    const failure = new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_stream_error', param: 'sk-secret-value', message: 'broke with key sk-secret-value' });
    const text = await respond(resultOf(play([{ type: 'text-delta', text: 'Hi' }], failure))).text();
    expect(text).not.toContain('[DONE]');
    expect(text).not.toContain('sk-secret-value');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'data: {"error":{"message":"broke with key [redacted]","type":"upstream_error","param":"[redacted]","code":"upstream_stream_error"}}',
    );
  });

  it('sends a keep-alive comment while the model is silent, without losing the event that follows', async () => {
    vi.useFakeTimers();
    let release: (() => void) | undefined;
    async function* slow(): AsyncGenerator<ChatEvent> {
      await new Promise<void>((resolve) => (release = resolve));
      yield { type: 'text-delta', text: 'late' };
      yield { type: 'finish', finishReason: 'stop' };
    }
    const reader = respond(resultOf(slow()), 15_000).body!.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toContain('"role":"assistant"');
    const keepAlive = reader.read();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(decoder.decode((await keepAlive).value)).toBe(': keep-alive\n\n');
    release?.();
    expect(decoder.decode((await reader.read()).value)).toContain('"content":"late"');
  });
});

describe('the SSE response: refusals and usage', () => {
  function dataOf(text: string): Array<Record<string, unknown>> {
    return text
      .split('\n\n')
      .filter((block) => block.startsWith('data: {'))
      .map((block) => JSON.parse(block.slice(6)) as Record<string, unknown>);
  }

  it('sends a refusal as delta.refusal, never as content', async () => {
    const text = await respond(resultOf(play([{ type: 'refusal-delta', text: "I can't" }, { type: 'refusal-delta', text: ' help.' }, { type: 'finish', finishReason: 'stop' }]))).text();
    const deltas = dataOf(text).map((chunk) => (chunk['choices'] as Array<{ delta: Record<string, unknown> }>)[0]?.delta);
    expect(deltas.filter((delta) => delta?.['refusal'] !== undefined).map((delta) => delta?.['refusal'])).toEqual(["I can't", ' help.']);
    expect(deltas.some((delta) => typeof delta?.['content'] === 'string' && delta['content'] !== '')).toBe(false);
  });

  it('with include_usage, sends the usage chunk when the backend counted, and invents no zeros when it did not', async () => {
    const counted = dataOf(await respond(resultOf(play([{ type: 'text-delta', text: 'Hi' }, { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }])), undefined, true).text());
    expect(counted.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
    const uncounted = dataOf(await respond(resultOf(play([{ type: 'text-delta', text: 'Hi' }, { type: 'finish', finishReason: 'stop' }])), undefined, true).text());
    expect(uncounted.every((chunk) => chunk['usage'] === null)).toBe(true);
    expect(uncounted.at(-1)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
  });
});

describe('the JSON completion', () => {
  it('keeps a tool name whole when a provider repeats it in later deltas', async () => {
    const completion = await collectCompletion(
      resultOf(
        play([
          { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":' },
          { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'get_weather', arguments: '"Paris"}' },
          { type: 'finish', finishReason: 'tool_calls' },
        ]),
      ),
      { id: 'chatcmpl-1', created: 1 },
    );
    expect(completion.choices[0]?.message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
  });

  it('gives a refusal as message.refusal with content null, and no usage it was not given', async () => {
    const completion = await collectCompletion(resultOf(play([{ type: 'refusal-delta', text: "I can't" }, { type: 'refusal-delta', text: ' help.' }, { type: 'finish', finishReason: 'content_filter' }])), {
      id: 'chatcmpl-1',
      created: 1,
    });
    expect(completion.choices[0]).toMatchObject({ message: { role: 'assistant', content: null, refusal: "I can't help." }, finish_reason: 'content_filter' });
    expect(completion).not.toHaveProperty('usage');
  });


  it('joins text, gathers tool calls by index and carries the agent metadata', async () => {
    const completion = await collectCompletion(
      resultOf(
        play([
          { type: 'reasoning-delta', text: 'thinking' },
          { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'search', arguments: '{"q":' },
          { type: 'tool-call-delta', index: 0, arguments: '"x"}' },
          { type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
        ]),
      ),
      { id: 'chatcmpl-1', created: 1 },
    );
    expect(completion.choices[0]).toMatchObject({
      message: { content: null, reasoning_content: 'thinking', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }] },
      finish_reason: 'tool_calls',
    });
    expect(completion.agent).toBe(metadata);
    expect(completion.model).toBe('local/llama');
  });

  it("puts a text delta's token log probabilities on its chunk and on the gathered choice, as OpenAI does", async () => {
    const token = (text: string, logprob: number) => ({ token: text, logprob, bytes: [...Buffer.from(text)], top_logprobs: [] });
    const events: ChatEvent[] = [
      { type: 'text-delta', text: 'Hi', logprobs: [token('Hi', -0.1)] },
      { type: 'text-delta', text: ' there', logprobs: [token(' there', -0.5)] },
      { type: 'finish', finishReason: 'stop' },
    ];
    const text = await respond(resultOf(play(events))).text();
    const chunks = text
      .split('\n\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice('data: '.length)) as { choices: Array<{ delta: { content?: string }; logprobs: unknown }> });
    const withContent = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(withContent.map((chunk) => chunk.choices[0]?.logprobs)).toEqual([
      { content: [token('Hi', -0.1)], refusal: null },
      { content: [token(' there', -0.5)], refusal: null },
    ]);
    const completion = await collectCompletion(resultOf(play(events)), { id: 'chatcmpl-1', created: 1 });
    expect(completion.choices[0]?.logprobs).toEqual({ content: [token('Hi', -0.1), token(' there', -0.5)], refusal: null });
    const plain = await collectCompletion(resultOf(play([{ type: 'text-delta', text: 'Hi' }, { type: 'finish', finishReason: 'stop' }])), { id: 'c', created: 1 });
    expect(plain.choices[0]?.logprobs).toBeNull();
  });
});
