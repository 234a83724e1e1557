/**
 * Harnesses on the REAL mlx-lm for the real-engine runner tests: the bridge's
 * own interpreter, PYTHONPATH empty (no double), the tiny models through
 * LOCAL_MODEL_PATHS.
 */
import { afterEach, beforeAll } from 'vitest';
import { resolveGenerationConfig } from '../../../bridge/runners/generation-config.ts';
import type { MlxRunnerOptions } from '../../../bridge/runners/mlx/mlx-runner.ts';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { messagesOf, realPython, TINY_CHAT, TINY_CHAT_4BIT, type AnswerCase } from '../../helpers/mlx-real-engine.ts';
import { collect, makeMlxHarness, type MlxHarness } from './mlx-harness.ts';

/** Registers the file's hooks (the interpreter found once, each harness closed after its test) and returns the opener. */
export function realEngineHarnesses(): (runner?: Partial<MlxRunnerOptions>) => MlxHarness {
  let python = '';
  let open: MlxHarness | undefined;
  beforeAll(() => {
    python = realPython();
  });
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });
  return (runner = {}) => {
    open = makeMlxHarness({ env: { PYTHONPATH: '' }, runner: { python, modelPaths: { 'tiny-chat': TINY_CHAT, 'tiny-chat-4bit': TINY_CHAT_4BIT }, ...runner } });
    return open;
  };
}

/**
 * Asks `tiny-chat` one case of the answers file as the bridge would: the case's messages and tools
 * plus `extra`, the request's sampling fields resolved into the runner's GenerationConfig.
 */
export function askCase(harness: MlxHarness, answer: AnswerCase, extra: Partial<ChatRequest> = {}, maxTokens = 64): Promise<ChatEvent[]> {
  const request: ChatRequest = { model: 'tiny-chat', messages: messagesOf(answer), max_tokens: maxTokens, ...(answer.tools ? { tools: answer.tools } : {}), ...extra };
  return collect(harness.runner.generate(request, resolveGenerationConfig(request), new AbortController().signal));
}

/** The stream's last event, which must be its finish. */
export function finishOf(events: ChatEvent[]): Extract<ChatEvent, { type: 'finish' }> {
  const finish = events.at(-1);
  if (finish?.type !== 'finish') throw new Error(`the stream ended without a finish: ${JSON.stringify(finish)}`);
  return finish;
}
