/**
 * Structured output through the gateway, the tunnel and the real bridge on the REAL mlx-lm, driven
 * by the official client: `chat.completions.parse()` with a zod schema on local/tiny-chat. The
 * tiny model was never trained on JSON (its trained answers are tests/models/tiny-chat-answers.json),
 * so the parsed object is the worker's constrained decoding at work.
 */
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { answerCase } from '../helpers/mlx-real-engine.ts';
import { TINY_CHAT_MODEL } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

const hello = answerCase('hello');

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ database: false });
  await stack.startBridge('mlx', { engine: 'real' });
});

afterAll(async () => {
  await stack?.stop();
});

// Bounded strings and numbers: a model that never learnt JSON still finishes the object.
const greeting = z.object({
  greeting: z.string().max(30),
  mood: z.enum(['happy', 'calm', 'curious']),
  words: z.int().min(0).max(99),
});

describe('structured output on the real mlx-lm through the tunnel', () => {
  it('parse() with a zod schema: the answer is JSON that the schema parses, not the trained greeting', async () => {
    const completion = await stack.client.chat.completions.parse({
      model: TINY_CHAT_MODEL,
      messages: [{ role: 'user', content: hello.messages[0]?.content ?? 'Say hello' }],
      response_format: zodResponseFormat(greeting, 'greeting'),
      max_tokens: 200,
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.content).not.toBe(hello.completion);
    expect(greeting.parse(choice?.message.parsed)).toEqual(choice?.message.parsed);
    expect(JSON.parse(choice?.message.content ?? '')).toEqual(choice?.message.parsed);
  });

  it('streams a json_schema answer whose joined deltas are one JSON value the schema accepts', async () => {
    const stream = await stack.client.chat.completions.create({
      model: TINY_CHAT_MODEL,
      messages: [{ role: 'user', content: 'Count from 1 to 60' }],
      response_format: { type: 'json_schema', json_schema: { name: 'count', strict: true, schema: { type: 'object', properties: { numbers: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 60 }, maxItems: 5 } }, required: ['numbers'], additionalProperties: false } } },
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(z.strictObject({ numbers: z.array(z.int().min(1).max(60)).max(5) }).safeParse(JSON.parse(text)).error).toBeUndefined();
  });

  it('refuses a schema the grammar cannot enforce with a 400 naming response_format, carried from the bridge', async () => {
    await expect(
      stack.client.chat.completions.create({
        model: TINY_CHAT_MODEL,
        messages: [{ role: 'user', content: 'Say hello' }],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', not: { required: ['a'] } } } },
      }),
    ).rejects.toMatchObject({ status: 400, param: 'response_format', type: 'invalid_request_error' });
  });
});
