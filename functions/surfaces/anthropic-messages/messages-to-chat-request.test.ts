import { describe, expect, it } from 'vitest';
import { messagesRequestSchema, type MessagesRequest } from './messages-request.ts';
import { messagesToChatRequest } from './messages-to-chat-request.ts';

function translate(body: Record<string, unknown>): ReturnType<typeof messagesToChatRequest> {
  return messagesToChatRequest(messagesRequestSchema.parse({ model: 'openai/gpt-4o', max_tokens: 100, ...body }) as MessagesRequest);
}

describe('an Anthropic Messages body as a ChatRequest', () => {
  it('lifts system blocks into a system message and keeps the sampling fields', () => {
    const { request, untranslatable } = translate({
      system: [{ type: 'text', text: 'Rule one.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Rule two.' }],
      messages: [{ role: 'user', content: 'Hi' }],
      temperature: 0.3,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      stream: true,
      service_tier: 'auto',
    });
    expect(untranslatable).toBeUndefined();
    expect(request).toEqual({
      model: 'openai/gpt-4o',
      max_tokens: 100,
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Rule one.' }, { type: 'text', text: 'Rule two.' }] },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.3,
      top_p: 0.9,
      stop: ['END'],
      user: 'user-42',
      stream: true,
    });
  });

  it('puts tool results right after the assistant turn that called them, before the rest of the user turn', () => {
    const { request, untranslatable } = translate({
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Call the tool.', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: '18 °C' }] },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    expect(untranslatable).toBeUndefined();
    expect(request.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '18 °C' },
      { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
    ]);
    expect(request.tools).toEqual([{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
    expect(request.tool_choice).toBe('required');
    expect(request.parallel_tool_calls).toBe(false);
  });

  it('moves the images of a tool_result into the user message after the tool message, which cannot hold them', () => {
    const { request, untranslatable } = translate({
      messages: [
        { role: 'user', content: 'Look at the screen' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_shot', name: 'screenshot', input: {} }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'call_shot',
              content: [
                { type: 'text', text: 'Captured.' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              ],
            },
          ],
        },
      ],
    });
    expect(untranslatable).toBeUndefined();
    expect(request.messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'call_shot', content: 'Captured.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'The images the tool call call_shot returned:' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
    ]);
  });

  it('sends images as data or http(s) URLs', () => {
    const { request } = translate({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(request.messages[0]).toEqual({
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      ],
    });
  });

  it.each([
    ['a server tool', { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0]'],
    ['a PDF', { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }] }, 'messages[0].content[0]'],
    ['a field the gateway does not know', { container: 'container_1' }, 'container'],
    ['more stop sequences than chat takes', { stop_sequences: ['a', 'b', 'c', 'd', 'e'] }, 'stop_sequences'],
  ])('records %s as the 400 a chat backend answers, naming it', (_what, body, param) => {
    const { request, untranslatable } = translate({ messages: [{ role: 'user', content: 'Hi' }], ...body });
    expect(untranslatable).toMatchObject({ status: 400, type: 'invalid_request_error', param, code: 'unsupported_parameter' });
    // The request stays well-formed for the candidates that never read it.
    expect(request.messages.length).toBeGreaterThan(0);
  });

  it('names the field of a malformed block in the 400', () => {
    const parsed = messagesRequestSchema.safeParse({ max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'x', name: 'f' }] }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['messages', 0, 'content', 0, 'input']);
  });
});
