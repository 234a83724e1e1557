import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { upstreamChatRequestSchema } from '../../../protocol/chat-request.ts';
import { fixtureFetch, testDeps, type FixtureAnswer } from '../../../tests/helpers/mock-provider-fixtures.ts';
import type { ProviderConfig } from '../../config.ts';
import { providerAdapters } from '../index.ts';
import { ANTHROPIC_REFUSAL_FALLBACK } from './anthropic-stream.ts';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.ts';
import { failure } from '../../../tests/helpers/gateway-failure.ts';

const KEY = 'sk-ant-api03-test-key-0123456789';
const config: ProviderConfig = { provider: 'anthropic', apiKey: KEY, baseUrl: 'https://anthropic.example', headers: {}, timeoutMs: 30_000, models: undefined, secrets: [KEY] };

function run(answers: FixtureAnswer[], signal = new AbortController().signal) {
  const upstream = fixtureFetch(answers);
  const model = providerAdapters.anthropic.createModel(config, 'claude-sonnet-4-5', testDeps(upstream.fetch));
  const request = upstreamChatRequestSchema.parse({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello' }] });
  const seen: ChatEvent[] = [];
  const done = (async () => {
    for await (const event of model.stream({ request, signal })) seen.push(event);
    return seen;
  })();
  return { upstream, done, seen };
}


describe('Anthropic provider: streams', () => {
  it('gives a tool called without arguments "{}" as its arguments (recorded: input {} plus one empty input_json_delta), in 13-byte pieces too', async () => {
    for (const chunkSize of [7, 13]) {
      const events = await run([{ fixture: 'anthropic/tool-no-args.sse', chunkSize }]).done;
      expect(events.filter((event) => event.type === 'tool-call-delta')).toEqual([
        { type: 'tool-call-delta', index: 0, id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', arguments: '' },
        { type: 'tool-call-delta', index: 0, arguments: '{}' },
      ]);
      expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 565, completion_tokens: 48, total_tokens: 613, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } } });
    }
  });

  it('adds no "{}" to a tool call whose arguments arrived', async () => {
    const events = await run([{ fixture: 'anthropic/tool-call.sse', chunkSize: 13 }]).done;
    expect(events.some((event) => event.type === 'tool-call-delta' && event.arguments === '{}')).toBe(false);
  });

  it("turns a refusal into its explanation as a refusal delta, then finish stop (as OpenAI ends its refusals) with the billed usage", async () => {
    const events = await run([{ fixture: 'anthropic/refusal.sse', chunkSize: 13 }]).done;
    expect(events).toEqual([
      { type: 'refusal-delta', text: "This request triggered restrictions on violative cyber content and was blocked under Anthropic's Usage Policy." },
      { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 18, completion_tokens: 5, total_tokens: 23, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } } },
    ]);
  });

  it('says that the model declined when a refusal comes without stop_details, and reports no usage it was not given', async () => {
    const body = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[]}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    const events = await run([{ body, headers: { 'content-type': 'text/event-stream' } }]).done;
    expect(events).toEqual([
      { type: 'refusal-delta', text: ANTHROPIC_REFUSAL_FALLBACK },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('translates a text stream, ignoring pings, with usage that counts cached tokens as prompt tokens', async () => {
    const { done, upstream } = run([{ fixture: 'anthropic/text.sse' }]);
    expect(await done).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: '! How can I' },
      { type: 'text-delta', text: ' help you today?' },
      {
        type: 'finish',
        finishReason: 'stop',
        usage: {
          prompt_tokens: 25 + 2048 + 512,
          completion_tokens: 12,
          total_tokens: 25 + 2048 + 512 + 12,
          prompt_tokens_details: { cached_tokens: 2048, cache_creation_tokens: 512 },
        },
      },
    ]);
    const [sent] = upstream.requests;
    expect(sent?.url).toBe('https://anthropic.example/v1/messages');
    expect(sent?.headers).toMatchObject({ 'x-api-key': KEY, 'anthropic-version': '2023-06-01' });
    expect(sent?.headers).not.toHaveProperty('authorization');
    expect(sent?.body).toMatchObject({ model: 'claude-sonnet-4-5', stream: true, max_tokens: 4096 });
  });

  it('turns tool_use blocks into tool-call deltas with OpenAI tool indexes, ids and names', async () => {
    const events = await run([{ fixture: 'anthropic/tool-call.sse' }]).done;
    const calls = events.filter((event) => event.type === 'tool-call-delta');
    expect(calls[0]).toEqual({ type: 'tool-call-delta', index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', arguments: '' });
    const argumentsOf = (index: number): string =>
      calls.map((event) => (event.type === 'tool-call-delta' && event.index === index ? event.arguments : '')).join('');
    expect(JSON.parse(argumentsOf(0))).toEqual({ location: 'Paris, France', unit: 'celsius' });
    expect(calls.find((event) => event.type === 'tool-call-delta' && event.index === 1)).toMatchObject({ id: 'toolu_01Hk8pQx3vFz2sLr7mYwNc5D', name: 'get_time' });
    expect(JSON.parse(argumentsOf(1))).toEqual({ timezone: 'Europe/Paris' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 472, completion_tokens: 89 } });
  });

  it('turns thinking into reasoning deltas and a max_tokens stop into length', async () => {
    const events = await run([{ fixture: 'anthropic/thinking.sse' }]).done;
    const reasoning = events.map((event) => (event.type === 'reasoning-delta' ? event.text : '')).join('');
    expect(reasoning).toBe('27 * 453: 27 * 400 = 10800, 27 * 53 = 1431, total 12231.');
    expect(events.filter((event) => event.type === 'text-delta')).toEqual([{ type: 'text-delta', text: '27 * 453 = 12,231' }]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length', usage: { prompt_tokens: 54, completion_tokens: 61 } });
  });

  it('throws an overloaded error that arrives mid-stream, after the deltas before it', async () => {
    const { done, seen } = run([{ fixture: 'anthropic/error-mid-stream.sse' }]);
    const error = await failure(done);
    expect(seen).toEqual([{ type: 'text-delta', text: 'The first' }]);
    expect(error).toMatchObject({ status: 502, code: 'overloaded', retryable: false });
    expect(error.message).toContain('Overloaded');
  });

  it('makes an error event before any delta retryable', async () => {
    const body = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    expect(await failure(run([{ body }]).done)).toMatchObject({ code: 'overloaded', retryable: true });
  });

  it('reports a stream that ends before message_stop as broken off', async () => {
    const body = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n';
    expect(await failure(run([{ body }]).done)).toMatchObject({ status: 502, code: 'upstream_stream_error', retryable: false });
  });

  it("rethrows the signal's reason when the caller aborts", async () => {
    const controller = new AbortController();
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(run([{ fixture: 'anthropic/text.sse' }], controller.signal).done).rejects.toBe(reason);
  });
});

describe('Anthropic provider: HTTP errors', () => {
  it('classifies 529 overloaded_error as retryable', async () => {
    const body = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_1' };
    expect(await failure(run([{ status: 529, body }]).done)).toMatchObject({ status: 529, code: 'overloaded', retryable: true, callerFault: false });
  });

  it('classifies the monthly spend limit 429 as not worth retrying', async () => {
    const body = { type: 'error', error: { type: 'rate_limit_error', message: "This request would exceed your account's monthly spend limit. Please try again later." } };
    expect(await failure(run([{ status: 429, headers: { 'retry-after': '3600' }, body }]).done)).toMatchObject({
      status: 429,
      code: 'spend_limit',
      retryable: false,
      callerFault: false,
    });
  });

  it('keeps the upstream message of a 400 as the caller fault it is', async () => {
    const body = { type: 'error', error: { type: 'invalid_request_error', message: 'messages.1.content: tool_use ids must be unique' } };
    const error = await failure(run([{ status: 400, body }]).done);
    expect(error).toMatchObject({ status: 400, callerFault: true, retryable: false, type: 'invalid_request_error' });
    expect(error.message).toBe('anthropic: messages.1.content: tool_use ids must be unique');
  });
});

describe('Anthropic provider: models', () => {
  it('lists models across pages of /v1/models', async () => {
    const upstream = fixtureFetch([
      { body: { data: [{ id: 'claude-a', type: 'model', display_name: 'A' }], has_more: true, first_id: 'claude-a', last_id: 'claude-a' } },
      { body: { data: [{ id: 'claude-b', type: 'model', display_name: 'B' }], has_more: false, first_id: 'claude-b', last_id: 'claude-b' } },
    ]);
    const ids = await providerAdapters.anthropic.listModels(config, testDeps(upstream.fetch), new AbortController().signal);
    expect(ids).toEqual(['claude-a', 'claude-b']);
    expect(upstream.requests.map((request) => request.url)).toEqual([
      'https://anthropic.example/v1/models?limit=1000',
      'https://anthropic.example/v1/models?limit=1000&after_id=claude-a',
    ]);
  });
});

describe('Anthropic stop reasons', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['tool_use', 'tool_calls'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['refusal', 'stop'],
    [null, 'stop'],
  ] as const)('maps %s to %s', (stopReason, finishReason) => {
    expect(mapAnthropicStopReason(stopReason)).toBe(finishReason);
  });
});
