import { describe, expect, it } from 'vitest';
import { upstreamChatRequestSchema } from '../../../protocol/chat-request.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { buildAnthropicRequest, DEFAULT_ANTHROPIC_MAX_TOKENS } from './anthropic-request.ts';

function build(body: Record<string, unknown>) {
  return buildAnthropicRequest(upstreamChatRequestSchema.parse({ model: 'claude-sonnet-4-5', ...body }), 'claude-sonnet-4-5');
}

function refusal(body: Record<string, unknown>): GatewayError {
  try {
    build(body);
  } catch (error) {
    if (GatewayError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==';

describe('Anthropic request translation', () => {
  it('lifts system and developer messages into system and defaults max_tokens', () => {
    const body = build({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
      ],
    });
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      system: 'You are terse.\n\nAnswer in French.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
      stream: true,
    });
  });

  it('maps sampling, limits, stop and user', () => {
    const body = build({
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 300,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      stop: 'END',
      user: 'user-42',
      seed: 7,
    });
    expect(body).toMatchObject({ max_tokens: 300, temperature: 0.7, top_p: 0.9, top_k: 40, stop_sequences: ['END'], metadata: { user_id: 'user-42' } });
    expect(body).not.toHaveProperty('seed');
  });

  it('turns data URLs into base64 image sources and http URLs into url sources', () => {
    const body = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    });
    expect(body.messages[0]?.content).toEqual([
      { type: 'text', text: 'What is in these?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('refuses an image type Anthropic cannot read, naming the part', () => {
    const error = refusal({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }] });
    expect(error).toMatchObject({ status: 400, param: 'messages[0].content[0].image_url.url' });
  });

  it('translates tools, tool calls and tool results, merging consecutive results into one user turn', () => {
    const body = build({
      messages: [
        { role: 'user', content: 'Weather and time in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '14:05' }] },
        { role: 'user', content: 'Thanks! Summarise.' },
      ],
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { location: { type: 'string' } } } } },
        { type: 'function', function: { name: 'get_time' } },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    expect(body.tools).toEqual([
      { name: 'get_weather', description: 'Weather now', input_schema: { type: 'object', properties: { location: { type: 'string' } } } },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '14:05' },
          { type: 'text', text: 'Thanks! Summarise.' },
        ],
      },
    ]);
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    [{ type: 'function', function: { name: 'get_time' } }, { type: 'tool', name: 'get_time' }],
  ] as const)('maps tool_choice %j to %j', (choice, expected) => {
    const body = build({ messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'function', function: { name: 'get_time' } }], tool_choice: choice });
    expect(body.tool_choice).toEqual(expected);
  });

  it('merges consecutive messages of one role', () => {
    const body = build({ messages: [{ role: 'user', content: 'one' }, { role: 'user', content: 'two' }, { role: 'assistant', content: 'ok' }] });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
    ]);
  });

  it('asks for JSON through the system prompt when response_format wants it', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const body = build({
      messages: [{ role: 'system', content: 'Be helpful.' }, { role: 'user', content: 'Capital of France?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } },
    });
    expect(body.system).toContain('Be helpful.\n\nRespond with a single valid JSON value');
    expect(body.system).toContain(JSON.stringify(schema));
    expect(build({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } }).system).toMatch(/JSON object/);
  });

  it("refuses OpenAI's newer fields that would change the answer, naming them", () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(refusal({ messages, verbosity: 'high' })).toMatchObject({ status: 400, param: 'verbosity', code: 'unsupported_parameter' });
    expect(refusal({ messages, web_search_options: {} })).toMatchObject({ param: 'web_search_options' });
    expect(refusal({ messages, audio: { voice: 'alloy', format: 'mp3' } })).toMatchObject({ param: 'audio' });
    expect(refusal({ messages, reasoning_effort: 'low' })).toMatchObject({ param: 'reasoning_effort' });
  });

  it("leaves out OpenAI's hints and the values that ask for the default, and takes safety_identifier as the end user", () => {
    const body = build({
      messages: [{ role: 'user', content: 'Hi' }],
      reasoning_effort: 'none',
      verbosity: 'medium',
      modalities: ['text'],
      prompt_cache_key: 'thread-42',
      prediction: { type: 'content', content: 'x' },
      audio: null,
      safety_identifier: 'user-hash-1',
    });
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stream: true,
      metadata: { user_id: 'user-hash-1' },
    });
  });

  it('refuses a temperature above 1 rather than clamping it', () => {
    expect(refusal({ messages: [{ role: 'user', content: 'Hi' }], temperature: 1.5 })).toMatchObject({ status: 400, param: 'temperature', callerFault: true });
  });

  it.each([
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ logprobs: true }, 'logprobs'],
    [{ logit_bias: { '1': 5 } }, 'logit_bias'],
    [{ min_p: 0.05 }, 'min_p'],
    [{ chat_template_kwargs: { enable_thinking: false } }, 'chat_template_kwargs'],
    [{ reasoning_effort: 'high' }, 'reasoning_effort'],
  ])('refuses %j with a 400 naming %s', (extra, param) => {
    expect(refusal({ messages: [{ role: 'user', content: 'Hi' }], ...extra })).toMatchObject({ status: 400, param });
  });

  it('refuses tool call arguments that are not a JSON object', () => {
    const error = refusal({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '[1,2]' } }] },
      ],
    });
    expect(error).toMatchObject({ status: 400, param: 'messages[1].tool_calls[0].function.arguments' });
  });

  it('refuses a conversation that is nothing but a system prompt', () => {
    expect(refusal({ messages: [{ role: 'system', content: 'Only me' }] })).toMatchObject({ status: 400, param: 'messages' });
  });
});
