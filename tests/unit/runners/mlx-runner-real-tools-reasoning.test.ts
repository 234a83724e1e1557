/**
 * Tool calls and reasoning on the REAL mlx-lm with the tiny model: the tools
 * rendered by its chat template, its tool block parsed by mlx-lm's own parser
 * for the template (json_tools), the second turn rendered back through the
 * template, the think block split out as reasoning and counted, and
 * `reasoning_effort` switching the template's thinking. Expected texts and
 * calls come from tests/models/tiny-chat-answers.json; counts from the real
 * tokenizer.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { failure } from '../../helpers/gateway-failure.ts';
import { answerCase, messagesOf, TINY_CHAT, tokenizerCounts } from '../../helpers/mlx-real-engine.ts';
import { collect, textOf, type MlxHarness } from './mlx-harness.ts';
import { finishOf, realEngineHarnesses } from './mlx-real-harness.ts';

const never = new AbortController().signal;
const toolCall = answerCase('tool-call');
const toolResult = answerCase('tool-result');
const thinking = answerCase('thinking');
const thinkingOff = answerCase('thinking-off');
const hello = answerCase('hello');

const realHarness = realEngineHarnesses();
let harness: MlxHarness;

/** A copy of the tiny model whose chat template knows nothing of tools (plain ChatML). */
const noToolsDir = mkdtempSync(path.join(tmpdir(), 'tiny-chat-no-tools-'));
cpSync(TINY_CHAT, noToolsDir, { recursive: true });
const tokenizerConfig = JSON.parse(readFileSync(path.join(noToolsDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
tokenizerConfig['chat_template'] =
  "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
writeFileSync(path.join(noToolsDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
/** A copy whose template uses another tool-call format ([TOOL_CALLS], mlx-lm's mistral parser). */
const otherFormatDir = mkdtempSync(path.join(tmpdir(), 'tiny-chat-mistral-tools-'));
cpSync(TINY_CHAT, otherFormatDir, { recursive: true });
writeFileSync(
  path.join(otherFormatDir, 'tokenizer_config.json'),
  JSON.stringify({ ...tokenizerConfig, chat_template: `{# [TOOL_CALLS] #}${String(tokenizerConfig['chat_template'])}` }),
);
afterAll(() => {
  rmSync(noToolsDir, { recursive: true, force: true });
  rmSync(otherFormatDir, { recursive: true, force: true });
});

const request = (answer: ReturnType<typeof answerCase>, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'tiny-chat',
  messages: messagesOf(answer),
  ...(answer.tools ? { tools: answer.tools } : {}),
  ...extra,
});

const reasoningOf = (events: ChatEvent[]): string => events.map((event) => (event.type === 'reasoning-delta' ? event.text : '')).join('');
const toolCallsOf = (events: ChatEvent[]) => events.filter((event) => event.type === 'tool-call-delta');
const argumentsOf = (events: ChatEvent[]): string => toolCallsOf(events).map((event) => (event.type === 'tool-call-delta' ? event.arguments : '')).join('');

describe('tool calls on the real mlx-lm', () => {
  it("renders the tools into the template and streams the model's tool block as one OpenAI tool call, finish tool_calls", async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(request(toolCall), { maxTokens: 64, stop: [] }, never));
    const pieces = toolCallsOf(events);
    // The call is streamed as the model writes it: the first piece names it, the others carry its arguments.
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.every((piece) => piece.type === 'tool-call-delta' && piece.index === 0)).toBe(true);
    const [head, ...rest] = pieces;
    expect(head).toMatchObject({ name: toolCall.tool_call?.name, arguments: '' });
    expect(head?.type === 'tool-call-delta' && head.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(rest.every((piece) => piece.type === 'tool-call-delta' && piece.id === undefined && piece.name === undefined)).toBe(true);
    const argumentsText = pieces.map((piece) => (piece.type === 'tool-call-delta' ? piece.arguments : '')).join('');
    expect(JSON.parse(argumentsText)).toEqual(toolCall.tool_call?.arguments);
    // No marker and no raw JSON leaks into the answer's text.
    expect(textOf(events)).toBe('');
    const finish = finishOf(events);
    expect(finish.finishReason).toBe('tool_calls');
    const counts = tokenizerCounts(TINY_CHAT, toolCall.messages, toolCall.completion, { tools: toolCall.tools });
    expect(finish.usage).toMatchObject({ prompt_tokens: counts.prompt, completion_tokens: counts.completion });
  });

  it("renders the second turn (the assistant's tool call, then the tool's result) through the template and answers from it", async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(request(toolResult), { maxTokens: 64, stop: [] }, never));
    expect(textOf(events)).toBe(toolResult.completion);
    expect(toolCallsOf(events)).toHaveLength(0);
    expect(finishOf(events).finishReason).toBe('stop');
    const counts = tokenizerCounts(TINY_CHAT, toolResult.messages, toolResult.completion, { tools: toolResult.tools });
    expect(finishOf(events).usage?.prompt_tokens).toBe(counts.prompt);
  });

  it('leaves the tool block as text with tool_choice "none": no call may come back', async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(request(toolCall, { tool_choice: 'none' }), { maxTokens: 64, stop: [] }, never));
    expect(toolCallsOf(events)).toHaveLength(0);
    expect(textOf(events)).toBe(toolCall.completion);
    expect(finishOf(events).finishReason).toBe('stop');
  });

  it("refuses tools for a model whose chat template has no tool calling, naming 'tools', and keeps serving", async () => {
    harness = realHarness({ modelPaths: { 'no-tools': noToolsDir } });
    const error = await failure(collect(harness.runner.generate({ ...request(toolCall), model: 'no-tools' }, { maxTokens: 16, stop: [] }, never)));
    expect(error).toMatchObject({ status: 400, param: 'tools' });
    expect(error.message).toContain('tool calling');
    const answer = await collect(harness.runner.generate({ model: 'no-tools', messages: messagesOf(hello) }, { maxTokens: 8, stop: [] }, never));
    expect(finishOf(answer).usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('makes the answer a call of the named function with tool_choice naming it, also where the model would write none', async () => {
    harness = realHarness();
    // The trained prompt: the forced call is the one the model would have written.
    const named = await collect(
      harness.runner.generate(request(toolCall, { tool_choice: { type: 'function', function: { name: 'get_weather' } } }), { maxTokens: 64, stop: [] }, never),
    );
    expect(finishOf(named).finishReason).toBe('tool_calls');
    expect(JSON.parse(argumentsOf(named))).toEqual(toolCall.tool_call?.arguments);
    // A greeting with the tools: the model, never trained on it, writes no call; made to, it does.
    const greeting = { ...request(hello), tools: toolCall.tools };
    expect(toolCallsOf(await collect(harness.runner.generate(greeting, { maxTokens: 24, stop: [] }, never)))).toHaveLength(0);
    const forced = await collect(
      harness.runner.generate({ ...greeting, tool_choice: { type: 'function', function: { name: 'get_weather' } } }, { maxTokens: 24, stop: [] }, never),
    );
    expect(toolCallsOf(forced)[0]).toMatchObject({ index: 0, name: 'get_weather' });
  });

  it("makes the answer a call of one of the tools with tool_choice 'required', the name chosen by the model among them", async () => {
    harness = realHarness();
    const tools = [...(toolCall.tools ?? []), { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }];
    const events = await collect(harness.runner.generate({ ...request(hello), tools, tool_choice: 'required' }, { maxTokens: 24, stop: [] }, never));
    const head = toolCallsOf(events)[0];
    expect(head?.type === 'tool-call-delta' && head.index).toBe(0);
    expect(['get_weather', 'get_time']).toContain(head?.type === 'tool-call-delta' ? head.name : undefined);
  });

  it("refuses tool_choice 'required' for a model whose tool-call format cannot be forced, naming 'tool_choice'", async () => {
    harness = realHarness({ modelPaths: { 'other-format': otherFormatDir } });
    const error = await failure(
      collect(harness.runner.generate({ ...request(toolCall), model: 'other-format', tool_choice: 'required' }, { maxTokens: 8, stop: [] }, never)),
    );
    expect(error).toMatchObject({ status: 400, param: 'tool_choice' });
  });
});

describe('reasoning on the real mlx-lm', () => {
  it('streams the think block as reasoning deltas and the rest as the answer, and counts the reasoning tokens', async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(request(thinking), { maxTokens: 64, stop: [] }, never));
    expect(reasoningOf(events)).toBe(thinking.reasoning);
    expect(events.filter((event) => event.type === 'reasoning-delta').length).toBeGreaterThan(1);
    expect(textOf(events)).toBe(thinking.content);
    const finish = finishOf(events);
    expect(finish.finishReason).toBe('stop');
    // The block from <think> to </think>, markers included, in the model's own tokens.
    const block = thinking.completion.slice(0, thinking.completion.indexOf('</think>') + '</think>'.length);
    const blockTokens = tokenizerCounts(TINY_CHAT, thinking.messages, block).completion - 1;
    expect(finish.usage?.completion_tokens_details?.reasoning_tokens).toBe(blockTokens);
    expect(finish.usage?.completion_tokens).toBe(tokenizerCounts(TINY_CHAT, thinking.messages, thinking.completion).completion);
  });

  it("switches the template's thinking off with reasoning_effort 'none': the answer alone, no reasoning tokens", async () => {
    harness = realHarness();
    const events = await collect(harness.runner.generate(request(thinkingOff, { reasoning_effort: 'none' }), { maxTokens: 64, stop: [] }, never));
    expect(reasoningOf(events)).toBe('');
    expect(textOf(events)).toBe(thinkingOff.completion);
    expect(finishOf(events).usage?.completion_tokens_details).toBeUndefined();
    const counts = tokenizerCounts(TINY_CHAT, thinkingOff.messages, thinkingOff.completion, { enable_thinking: false });
    expect(finishOf(events).usage?.prompt_tokens).toBe(counts.prompt);
  });

  it('passes chat_template_kwargs to the template: enable_thinking false there wins over the default', async () => {
    harness = realHarness();
    const events = await collect(
      harness.runner.generate(request(thinking, { chat_template_kwargs: { enable_thinking: false } }), { maxTokens: 64, stop: [] }, never),
    );
    expect(reasoningOf(events)).toBe('');
    expect(textOf(events)).toBe(thinkingOff.completion);
    const error = await failure(collect(harness.runner.generate(request(thinking, { chat_template_kwargs: { tools: [] } }), { maxTokens: 8, stop: [] }, never)));
    expect(error).toMatchObject({ status: 400, param: 'chat_template_kwargs' });
  });
});
