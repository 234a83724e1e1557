/**
 * Recorded provider streams (tests/fixtures) replayed by a loopback mock and
 * read through POST /v1/chat/completions inside workerd: streaming as the
 * provider sent it, streaming in 13-byte pieces, and non-streaming. What a
 * client must see: tool calls without arguments as `"{}"`, usage in OpenAI's
 * meaning, refusals as `refusal` (never as content), no invented usage.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { chatInit, readSse, sdkClient, suiteMocks, testGateway, xaiAtOpenAIMock, type TestGateway, type VarOverrides } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('chat-translation');
let gateway: TestGateway;

beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

const withXai = xaiAtOpenAIMock(mocks.origins);

interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** What a client holds at the end, whichever way it asked. */
interface Answer {
  content: string | null;
  refusal: string | null;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  usage: Usage | undefined;
}

interface Chunk {
  choices: Array<{
    delta: { content?: string | null; refusal?: string | null; reasoning_content?: string; tool_calls?: Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments: string } }> };
    finish_reason: string | null;
  }>;
  usage?: Usage | null;
}

/** Reads an SSE answer the way the openai SDK's stream helper accumulates it (names assigned, arguments appended). */
async function streamedAnswer(response: Response): Promise<Answer & { chunks: Chunk[] }> {
  const { data } = await readSse(response);
  expect(data.at(-1)).toBe('[DONE]');
  const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as Chunk);
  const answer: Answer = { content: null, refusal: null, reasoning: '', toolCalls: [], finishReason: null, usage: undefined };
  for (const chunk of chunks) {
    if (chunk.usage) answer.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta;
    if (delta.content) answer.content = (answer.content ?? '') + delta.content;
    if (delta.refusal) answer.refusal = (answer.refusal ?? '') + delta.refusal;
    if (delta.reasoning_content) answer.reasoning += delta.reasoning_content;
    for (const piece of delta.tool_calls ?? []) {
      const call = (answer.toolCalls[piece.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (piece.id) call.id = piece.id;
      if (piece.function.name) call.function.name = piece.function.name;
      call.function.arguments += piece.function.arguments;
    }
    if (choice.finish_reason) answer.finishReason = choice.finish_reason;
  }
  return { ...answer, chunks };
}

async function jsonAnswer(response: Response): Promise<Answer> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    choices: Array<{ message: { content: string | null; refusal: string | null; reasoning_content?: string; tool_calls?: ToolCall[] }; finish_reason: string }>;
    usage?: Usage;
  };
  const choice = body.choices[0];
  return {
    content: choice?.message.content ?? null,
    refusal: choice?.message.refusal ?? null,
    reasoning: choice?.message.reasoning_content ?? '',
    toolCalls: choice?.message.tool_calls ?? [],
    finishReason: choice?.finish_reason ?? null,
    usage: body.usage,
  };
}

type Mock = 'openai' | 'anthropic';
const WAYS = [
  { way: 'streaming', stream: true, chunkSize: undefined },
  { way: 'streaming in 13-byte pieces', stream: true, chunkSize: 13 },
  { way: 'non-streaming', stream: false, chunkSize: undefined },
] as const;

/** Replays `fixture` from the `mock` and asks the gateway for `model` the given way. */
async function ask(mock: Mock, fixture: string, body: Record<string, unknown>, way: (typeof WAYS)[number], overrides: VarOverrides = {}): Promise<Answer> {
  await mocks[mock].script([{ kind: 'replay', fixture, ...(way.chunkSize ? { chunkSize: way.chunkSize } : {}) }]);
  const response = await gateway.fetch('/v1/chat/completions', chatInit({ messages: [{ role: 'user', content: 'Go' }], ...body, stream: way.stream }), overrides);
  expect(response.status).toBe(200);
  return way.stream ? streamedAnswer(response) : jsonAnswer(response);
}

describe.each(WAYS)('recorded provider streams, $way', (way) => {
  it('gives a tool call without arguments "{}" as its arguments, which every client can JSON.parse', async () => {
    const answer = await ask('anthropic', 'anthropic/tool-no-args.sse', { model: 'anthropic/claude-sonnet-4-5', tools: [{ type: 'function', function: { name: 'updateIssueList', parameters: { type: 'object', properties: {} } } }] }, way);
    expect(answer.content).toBe("I'll update the issue list for you.");
    expect(answer.toolCalls).toEqual([{ id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', type: 'function', function: { name: 'updateIssueList', arguments: '{}' } }]);
    expect(JSON.parse(answer.toolCalls[0]?.function.arguments ?? '')).toEqual({});
    expect(answer.finishReason).toBe('tool_calls');
  });

  it("reports xAI's usage in OpenAI's meaning: reasoning counted in completion_tokens, prompt + completion = total", async () => {
    const answer = await ask('openai', 'xai/grok-3-mini-tool-call.sse', { model: 'xai/grok-3-mini', stream_options: way.stream ? { include_usage: true } : undefined }, way, withXai);
    expect(answer.usage).toEqual({
      prompt_tokens: 291,
      completion_tokens: 222,
      total_tokens: 513,
      prompt_tokens_details: { cached_tokens: 290 },
      completion_tokens_details: { reasoning_tokens: 196 },
    });
    expect(answer.reasoning).toBe('First, the user is');
    expect(answer.toolCalls).toEqual([{ id: 'call_55117580', type: 'function', function: { name: 'weather', arguments: '{"location":"San Francisco"}' } }]);
  });

  it("gives OpenAI's structured-output refusal as refusal, with no content", async () => {
    const answer = await ask('openai', 'openai/refusal.sse', { model: 'openai/gpt-4o' }, way);
    expect(answer.refusal).toBe("I'm sorry, but I can't assist with that request.");
    expect(answer.content).toBeNull();
    expect(answer.finishReason).toBe('stop');
  });

  it("gives Anthropic's refusal as OpenAI gives its own: finish stop, the explanation as refusal, and the usage it billed", async () => {
    const answer = await ask('anthropic', 'anthropic/refusal.sse', { model: 'anthropic/claude-sonnet-4-5', stream_options: way.stream ? { include_usage: true } : undefined }, way);
    expect(answer.refusal).toBe("This request triggered restrictions on violative cyber content and was blocked under Anthropic's Usage Policy.");
    expect(answer.content).toBeNull();
    expect(answer.finishReason).toBe('stop');
    expect(answer.usage).toMatchObject({ prompt_tokens: 18, completion_tokens: 5, total_tokens: 23 });
  });

  it('invents no usage when the upstream sent none, even with include_usage', async () => {
    const answer = await ask('openai', 'openai/stream-without-usage.sse', { model: 'openai/gpt-4o', stream_options: way.stream ? { include_usage: true } : undefined }, way);
    expect(answer.content).toBe('{"city":"San Francisco","units":"f"}');
    expect(answer.usage).toBeUndefined();
    if ('chunks' in answer) {
      const chunks = (answer as { chunks: Chunk[] }).chunks;
      expect(chunks.every((chunk) => chunk.usage === null)).toBe(true);
      expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
    }
  });
});

describe('the openai SDK against a refusal', () => {
  const cityFormat = {
    type: 'json_schema',
    json_schema: {
      name: 'city',
      strict: true,
      schema: { type: 'object', properties: { city: { type: 'string' }, units: { type: 'string' } }, required: ['city', 'units'], additionalProperties: false },
    },
  } as const;

  it.each([
    { provider: 'openai', model: 'openai/gpt-4o', fixture: 'openai/refusal.sse', refusal: "I'm sorry, but I can't assist with that request." },
    { provider: 'anthropic', model: 'anthropic/claude-sonnet-4-5', fixture: 'anthropic/refusal.sse', refusal: "This request triggered restrictions on violative cyber content and was blocked under Anthropic's Usage Policy." },
  ] as const)('chat.completions.parse() returns parsed: null and $provider\'s refusal as message.refusal instead of throwing', async ({ provider, model, fixture, refusal }) => {
    await mocks[provider].script([{ kind: 'replay', fixture, chunkSize: 13 }]);
    const completion = await sdkClient(gateway).chat.completions.parse({ model, messages: [{ role: 'user', content: 'Go' }], response_format: cityFormat });
    const message = completion.choices[0]?.message;
    expect(message?.parsed).toBeNull();
    expect(message?.refusal).toBe(refusal);
    expect(message?.content).toBeNull();
  });

  it('chat.completions.parse() still parses an answer that is not a refusal', async () => {
    await mocks.openai.script([{ kind: 'replay', fixture: 'openai/stream-without-usage.sse' }]);
    const completion = await sdkClient(gateway).chat.completions.parse({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Go' }], response_format: cityFormat });
    expect(completion.choices[0]?.message.parsed).toEqual({ city: 'San Francisco', units: 'f' });
    expect(completion.choices[0]?.message.refusal).toBeNull();
  });
});
