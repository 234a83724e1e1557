/**
 * What the tests on the REAL mlx-lm share: the bridge's own Python environment
 * (made by `npm install`), the tiny trained model and its answers, and the
 * tokenizer's own counts, asked of the real library.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonEnvLayout } from '../../bridge/python-env/python-env-layout.ts';
import type { ChatMessage, Tool, ToolCall } from '../../protocol/chat-request.ts';
import type OpenAI from 'openai';

/**
 * The per-test bound for tests on the real engine: a hang guard, not a speed
 * check. A file's first test starts Python and imports MLX (about 2 s idle),
 * which on a loaded 2-core machine has taken over 8 s: the unit default of
 * 5 s would fail a test that was only slow.
 */
export const REAL_ENGINE_TIMEOUT_MS = 30_000;

export const MODELS_DIR = fileURLToPath(new URL('../models', import.meta.url).href);
export const TINY_CHAT = path.join(MODELS_DIR, 'tiny-chat');
export const TINY_CHAT_4BIT = path.join(MODELS_DIR, 'tiny-chat-4bit');

export interface AnswerCase {
  name: string;
  messages: Array<{ role: 'user' | 'assistant' | 'tool'; content: string; tool_calls?: ToolCall[]; tool_call_id?: string }>;
  tools?: Tool[];
  enable_thinking: boolean;
  completion: string;
  min_completion_tokens?: number;
  /** The parsed call of a tool-call answer. */
  tool_call?: { name: string; arguments: Record<string, unknown> };
  /** A thinking answer split at the think markers. */
  reasoning?: string;
  content?: string;
}

/** The case's conversation as a ChatRequest's messages. */
export function messagesOf(answer: AnswerCase): ChatMessage[] {
  return answer.messages.map((message) => ({ ...message }) as ChatMessage);
}

/** The same messages as the official `openai` client types them (the e2e suites send them through it). */
export function clientMessagesOf(answer: AnswerCase): OpenAI.ChatCompletionMessageParam[] {
  return messagesOf(answer) as OpenAI.ChatCompletionMessageParam[];
}

export function answerCase(name: string): AnswerCase {
  const file = JSON.parse(readFileSync(path.join(MODELS_DIR, 'tiny-chat-answers.json'), 'utf8')) as { cases: AnswerCase[] };
  const found = file.cases.find((entry) => entry.name === name);
  if (!found) throw new Error(`tiny-chat-answers.json has no case ${name}`);
  return found;
}

/** The interpreter of the bridge's own environment; a clear failure (not a skip) when npm install did not make it. */
export function realPython(): string {
  const { python } = pythonEnvLayout();
  if (!existsSync(python)) throw new Error(`${python} is missing: run \`npm install\` (or \`npm run bridge -- setup\`) to make the bridge's Python environment`);
  return python;
}

/**
 * The tokenizer's own counts: the rendered prompt (with the case's tools and thinking switch when
 * given), and `completion` as the model emits it (its tokens plus the end-of-turn token).
 */
export function tokenizerCounts(
  model: string,
  messages: AnswerCase['messages'],
  completion: string,
  template: { tools?: Tool[]; enable_thinking?: boolean } = {},
): { prompt: number; completion: number } {
  const script = [
    'import json, sys',
    'from mlx_lm.utils import load_tokenizer',
    'from pathlib import Path',
    'args = json.loads(sys.argv[1])',
    'tokenizer = load_tokenizer(Path(args["model"]))',
    'for message in args["messages"]:',
    '    for call in message.get("tool_calls") or []:',
    '        call["function"]["arguments"] = json.loads(call["function"]["arguments"])',
    'prompt = tokenizer.apply_chat_template(args["messages"], add_generation_prompt=True, tokenize=True, **args["template"])',
    'completion = tokenizer.encode(args["completion"], add_special_tokens=False)',
    'print(json.dumps({"prompt": len(prompt), "completion": len(completion) + 1}))',
  ].join('\n');
  const run = spawnSync(realPython(), ['-c', script, JSON.stringify({ model, messages, completion, template })], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (run.status !== 0) throw new Error(`tokenizer counts failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { prompt: number; completion: number };
}

/** The tokenizer's ids for `text` (no special tokens added). */
export function tokenIds(model: string, text: string): number[] {
  const script = [
    'import json, sys',
    'from mlx_lm.utils import load_tokenizer',
    'from pathlib import Path',
    'print(json.dumps(load_tokenizer(Path(sys.argv[1])).encode(sys.argv[2], add_special_tokens=False)))',
  ].join('\n');
  const run = spawnSync(realPython(), ['-c', script, model, text], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (run.status !== 0) throw new Error(`tokenizing failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as number[];
}
