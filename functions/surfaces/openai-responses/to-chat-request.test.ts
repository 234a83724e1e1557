import { describe, expect, it } from 'vitest';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { parseOrThrow } from '../../../protocol/validate.ts';
import { responsesRequestSchema, type ResolvedInputItem } from './responses-request.ts';
import { inputItems, renameChatParam, toChatRequest } from './to-chat-request.ts';

function translate(body: Record<string, unknown>, history: ResolvedInputItem[] = []) {
  const request = parseOrThrow(responsesRequestSchema, body);
  const raw = typeof request.input === 'string' ? [] : (request.input as ResolvedInputItem[]);
  return toChatRequest(request, history, inputItems(request, raw));
}

describe('a Responses request as the internal chat request', () => {
  it('joins assistant text and the function calls after it into one assistant message; drops reasoning', () => {
    const chat = translate({
      model: 'openai/gpt-4o',
      instructions: 'Be exact.',
      input: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'two calls' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'c2', name: 'weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be exact.' },
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'rain' },
    ]);
  });

  it('puts the history of a previous response before the input, and keeps an assistant refusal as a refusal', () => {
    const history: ResolvedInputItem[] = [
      { role: 'user', content: 'Do something bad' },
      { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot.' }] },
    ];
    const chat = translate({ input: 'Then something good' }, history);
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Do something bad' },
      { role: 'assistant', content: null, refusal: 'I cannot.' },
      { role: 'user', content: 'Then something good' },
    ]);
  });

  it('maps the sampling, output and tool fields, and keeps store and metadata out of the chat request', () => {
    const chat = translate({
      input: 'x',
      stream: true,
      store: false,
      metadata: { a: 'b' },
      max_output_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      reasoning: { effort: 'low' },
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
      fallback_models: ['groq/llama-3.3-70b-versatile'],
    });
    expect(chat).toEqual({
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      max_completion_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      verbosity: 'low',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      parallel_tool_calls: false,
      fallback_models: ['groq/llama-3.3-70b-versatile'],
    });
  });
});

describe("errors in this route's words", () => {
  it.each([
    ['max_completion_tokens', 'max_output_tokens'],
    ['reasoning_effort', 'reasoning.effort'],
    ['response_format', 'text.format'],
    ['messages[3].content', 'input'],
    ['tools[1].function.parameters', 'tools[1].parameters'],
  ])('renames %s to %s, in the param and the message', (internal, external) => {
    const renamed = renameChatParam(invalidRequest(`Unsupported parameter '${internal}' for anthropic.`, internal));
    expect(renamed).toMatchObject({ param: external, message: `Unsupported parameter '${external}' for anthropic.`, status: 400 });
  });

  it('leaves a field both routes name alike as it is', () => {
    const error = invalidRequest("Invalid value for 'temperature'.", 'temperature');
    expect(renameChatParam(error)).toBe(error);
  });
});
