/**
 * response_format on the REAL mlx-lm, enforced by constrained decoding (llguidance as an mlx-lm
 * logits processor, bridge/python/mlx_worker_constrained.py), on a model with RANDOM weights
 * (tests/helpers/random-model.ts): it was trained on nothing, so without the grammar its answer is
 * noise (the first test shows it), and every answer below parses and validates only because each
 * token the schema does not allow was masked. Each answer is checked against a zod schema written
 * to match the JSON schema it was asked for.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { resolveGenerationConfig } from '../../../bridge/runners/generation-config.ts';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { failure } from '../../helpers/gateway-failure.ts';
import { answerCase, messagesOf, realPython, TINY_CHAT, tokenIds } from '../../helpers/mlx-real-engine.ts';
import { makeRandomModel, type RandomModel } from '../../helpers/random-model.ts';
import { collect, makeMlxHarness, textOf, type MlxHarness } from './mlx-harness.ts';
import { finishOf } from './mlx-real-harness.ts';

let model: RandomModel;
let harness: MlxHarness;
beforeAll(() => {
  model = makeRandomModel();
  harness = makeMlxHarness({ env: { PYTHONPATH: '' }, runner: { python: realPython(), modelPaths: { 'tiny-random': model.dir, 'tiny-chat': TINY_CHAT } } });
}, 60_000);
afterAll(async () => {
  await harness?.close();
  model?.remove();
});

function ask(responseFormat: ChatRequest['response_format'], content = 'Answer in JSON.', maxTokens = 400, extra: Partial<ChatRequest> = {}): Promise<ChatEvent[]> {
  const request: ChatRequest = { model: 'tiny-random', messages: [{ role: 'user', content }], max_tokens: maxTokens, ...(responseFormat ? { response_format: responseFormat } : {}), ...extra };
  return collect(harness.runner.generate(request, resolveGenerationConfig(request), new AbortController().signal));
}

const jsonSchema = (name: string, schema: Record<string, unknown>): ChatRequest['response_format'] => ({ type: 'json_schema', json_schema: { name, schema, strict: true } });

/** The answer's text parsed as JSON: it must be one complete JSON value that ended the answer. */
function answerJson(events: ChatEvent[]): unknown {
  expect(finishOf(events).finishReason).toBe('stop');
  return JSON.parse(textOf(events));
}

const cases: { name: string; schema: Record<string, unknown>; check: z.ZodType }[] = [
  {
    name: 'an object with required fields',
    schema: {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 24 }, age: { type: 'integer', minimum: 0, maximum: 150 }, active: { type: 'boolean' } },
      required: ['name', 'age', 'active'],
      additionalProperties: false,
    },
    check: z.strictObject({ name: z.string().max(24), age: z.int().min(0).max(150), active: z.boolean() }),
  },
  {
    name: 'an enum',
    schema: { type: 'object', properties: { colour: { enum: ['red', 'green', 'blue'] } }, required: ['colour'], additionalProperties: false },
    check: z.strictObject({ colour: z.enum(['red', 'green', 'blue']) }),
  },
  {
    name: 'an array',
    schema: {
      type: 'object',
      properties: { scores: { type: 'array', items: { type: 'number', minimum: -10, maximum: 10 }, minItems: 1, maxItems: 4 } },
      required: ['scores'],
      additionalProperties: false,
    },
    check: z.strictObject({ scores: z.array(z.number().min(-10).max(10)).min(1).max(4) }),
  },
  {
    name: 'nested objects, a list of them, a pattern and a nullable field',
    schema: {
      type: 'object',
      properties: {
        address: {
          type: 'object',
          properties: { city: { type: 'string', maxLength: 20 }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
          required: ['city', 'zip'],
          additionalProperties: false,
        },
        people: {
          type: 'array',
          maxItems: 2,
          items: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 99 }, nickname: { type: ['string', 'null'], maxLength: 10 } }, required: ['id', 'nickname'], additionalProperties: false },
        },
      },
      required: ['address', 'people'],
      additionalProperties: false,
    },
    check: z.strictObject({
      address: z.strictObject({ city: z.string().max(20), zip: z.string().regex(/^[0-9]{5}$/) }),
      people: z.array(z.strictObject({ id: z.int().min(1).max(99), nickname: z.string().max(10).nullable() })).max(2),
    }),
  },
];

describe('response_format on the real mlx-lm with a random-weight model', () => {
  it('answers noise that is not JSON without a response_format (so the grammar is what makes the JSON below)', async () => {
    const events = await ask(undefined, 'Answer in JSON.', 40);
    expect(() => JSON.parse(textOf(events))).toThrow();
  }, 30_000);

  for (const { name, schema, check } of cases) {
    it(`answers json_schema with ${name}: the text parses and validates against the schema`, async () => {
      for (const content of ['Answer in JSON.', 'Tell me about it.']) {
        const value = answerJson(await ask(jsonSchema('answer', schema), content));
        expect(check.safeParse(value).error).toBeUndefined();
      }
    }, 60_000);
  }

  // json_object allows any keys and strings of any length, and a random model almost never picks the
  // closing quote, so on its own it writes one endless key (finish_reason length, as a truncated answer
  // is anywhere). A logit_bias towards `"` and `}` makes it close whatever it can: the bias alone gives
  // quotes and braces that are not JSON; under the grammar, where they are not allowed they are masked.
  it('answers json_object with a JSON object, streamed in more than one delta, even under a logit_bias that alone breaks JSON', async () => {
    const [quote = 0] = tokenIds(model.dir, '"');
    const [brace = 0] = tokenIds(model.dir, '}');
    const bias = { logit_bias: { [String(quote)]: 30, [String(brace)]: 20 } };
    const unconstrained = textOf(await ask(undefined, 'Answer in JSON.', 40, bias));
    expect(() => JSON.parse(unconstrained)).toThrow();
    const events = await ask({ type: 'json_object' }, 'Answer in JSON.', 400, bias);
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(1);
    const value = answerJson(events);
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  }, 30_000);

  it('refuses a schema keyword the grammar cannot enforce with a 400 naming response_format, and the worker goes on', async () => {
    const schema = { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' }, uniqueItems: true } }, required: ['tags'] };
    const error = await failure(ask(jsonSchema('tags', schema)));
    expect(error).toMatchObject({ status: 400, param: 'response_format' });
    expect(error.message).toContain('uniqueItems');
    const [enumCase] = cases.filter((entry) => entry.name === 'an enum');
    expect(enumCase?.check.safeParse(answerJson(await ask(jsonSchema('answer', enumCase.schema)))).error).toBeUndefined();
  }, 30_000);
});

const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'Get the current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 } }, required: ['city'], additionalProperties: false } } };
const time = { type: 'function' as const, function: { name: 'get_time', description: 'The time in a zone', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false } } };

/** Each call of the answer: its name and its arguments text, joined from the tool-call deltas by index. */
function callsOf(events: ChatEvent[]): { name: string; arguments: string }[] {
  const calls: { name: string; arguments: string }[] = [];
  for (const event of events) {
    if (event.type !== 'tool-call-delta') continue;
    const call = (calls[event.index] ??= { name: '', arguments: '' });
    call.name += event.name ?? '';
    call.arguments += event.arguments ?? '';
  }
  return calls;
}

describe('tool_choice forcing a call on the real mlx-lm with a random-weight model', () => {
  const askTools = (extra: Partial<ChatRequest>) => ask(undefined, 'What is the weather in Paris?', 300, { tools: [weather, time], parallel_tool_calls: false, ...extra });

  it('answers without a forced call with no tool call at all (so the grammar is what makes the calls below)', async () => {
    expect(callsOf(await askTools({}))).toHaveLength(0);
  }, 30_000);

  it("answers tool_choice 'required' with a call to one of the tools whose arguments fit its parameters, finish_reason tool_calls", async () => {
    const events = await askTools({ tool_choice: 'required' });
    expect(finishOf(events).finishReason).toBe('tool_calls');
    const [call, ...others] = callsOf(events);
    expect(others).toHaveLength(0);
    const check = call?.name === 'get_weather' ? z.strictObject({ city: z.string().max(20) }) : z.strictObject({ zone: z.enum(['UTC', 'CET']) });
    expect(['get_weather', 'get_time']).toContain(call?.name);
    expect(check.safeParse(JSON.parse(call?.arguments ?? '')).error).toBeUndefined();
  }, 30_000);

  it('answers a named function with a call to that one, for each of the two tools', async () => {
    for (const [tool, check] of [
      [weather, z.strictObject({ city: z.string().max(20) })],
      [time, z.strictObject({ zone: z.enum(['UTC', 'CET']) })],
    ] as const) {
      const events = await askTools({ tool_choice: { type: 'function', function: { name: tool.function.name } } });
      expect(finishOf(events).finishReason).toBe('tool_calls');
      const calls = callsOf(events);
      expect(calls.map((call) => call.name)).toEqual([tool.function.name]);
      expect(check.safeParse(JSON.parse(calls[0]?.arguments ?? '')).error).toBeUndefined();
    }
  }, 30_000);

  it('refuses a named function that is not among the tools, and a forced call without tools, naming tool_choice', async () => {
    const named = await failure(askTools({ tool_choice: { type: 'function', function: { name: 'get_stock' } } }));
    expect(named).toMatchObject({ status: 400, param: 'tool_choice' });
    const bare = await failure(ask(undefined, 'Hi', 10, { tool_choice: 'required' }));
    expect(bare).toMatchObject({ status: 400, param: 'tool_choice' });
  });
});

describe('think blocks and the constrained answer, on the trained tiny model', () => {
  const thinking = answerCase('thinking');
  const answerSchema = jsonSchema('sum', { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false });
  let opened: string;
  beforeAll(() => {
    // The same model with a template that opens the think block in the generation prompt (as
    // DeepSeek-R1's does): the model starts inside it.
    opened = path.join(model.dir, '..', 'tiny-chat-opens-think');
    cpSync(TINY_CHAT, opened, { recursive: true });
    const configFile = path.join(opened, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as { chat_template: string };
    config.chat_template = config.chat_template.replace("{{- '<|im_start|>assistant\\n' }}", "{{- '<|im_start|>assistant\\n<think>\\n' }}");
    writeFileSync(configFile, JSON.stringify(config));
  });
  const askThinking = (modelId: string, extra: Partial<ChatRequest> = {}) => {
    const request: ChatRequest = { model: modelId, messages: messagesOf(thinking), max_tokens: 100, response_format: answerSchema, ...extra };
    return collect(harness.runner.generate(request, resolveGenerationConfig(request), new AbortController().signal));
  };
  const reasoningOf = (events: ChatEvent[]): string => events.map((event) => (event.type === 'reasoning-delta' ? event.text : '')).join('');
  const validSum = (events: ChatEvent[]) => expect(z.strictObject({ answer: z.int() }).safeParse(answerJson(events)).error).toBeUndefined();

  it('lets a model the template left inside a think block finish its reasoning (as reasoning), then holds the answer to the schema', async () => {
    const openHarness = makeMlxHarness({ env: { PYTHONPATH: '' }, runner: { python: realPython(), modelPaths: { opened } } });
    try {
      const events = await collect(
        openHarness.runner.generate({ model: 'opened', messages: messagesOf(thinking), max_tokens: 100, response_format: answerSchema }, { maxTokens: 100, stop: [] }, new AbortController().signal),
      );
      expect(reasoningOf(events)).toBe(thinking.reasoning);
      expect(answerJson(events)).toEqual({ answer: 5 });
    } finally {
      await openHarness.close();
    }
  }, 30_000);

  it('answers JSON from the first token otherwise: no think block, with thinking on or off', async () => {
    for (const extra of [{}, { reasoning_effort: 'none' as const }]) {
      const events = await askThinking('tiny-chat', extra);
      expect(reasoningOf(events)).toBe('');
      validSum(events);
    }
  }, 30_000);
});
