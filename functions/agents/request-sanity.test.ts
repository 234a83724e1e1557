import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { checkRequestSanity } from './request-sanity.ts';

const base: ChatRequest = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hi' }] };
const tool = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } };

function paramOf(request: ChatRequest): string | null | undefined {
  try {
    checkRequestSanity(request);
    return undefined;
  } catch (error) {
    return (error as { param: string | null }).param;
  }
}

describe('requests whose fields contradict each other', () => {
  it('stream_options without stream is refused on stream_options', () => {
    expect(paramOf({ ...base, stream_options: { include_usage: true } })).toBe('stream_options');
    expect(paramOf({ ...base, stream: true, stream_options: { include_usage: true } })).toBeUndefined();
  });

  it('tool_choice without tools, or naming a missing tool, is refused on tool_choice', () => {
    expect(paramOf({ ...base, tool_choice: 'required' })).toBe('tool_choice');
    expect(paramOf({ ...base, tools: [tool], tool_choice: { type: 'function', function: { name: 'other' } } })).toBe('tool_choice');
    expect(paramOf({ ...base, tools: [tool], tool_choice: { type: 'function', function: { name: 'get_weather' } } })).toBeUndefined();
  });

  it('a tool message that answers no earlier tool call is refused on its tool_call_id', () => {
    const messages: ChatRequest['messages'] = [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      { role: 'tool', tool_call_id: 'call_9', content: 'Rain' },
    ];
    expect(paramOf({ ...base, messages })).toBe('messages[3].tool_call_id');
    expect(paramOf({ ...base, messages: messages.slice(0, 3) })).toBeUndefined();
  });
});
