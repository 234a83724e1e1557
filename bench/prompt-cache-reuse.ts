/**
 * Prompt-cache reuse on the real mlx-lm (CPU here) with the tiny model: the
 * time to first token of turn 5 of a conversation, served after turns 1-4 on
 * the same worker (its KV cache reused), against the same prompt on a fresh
 * worker with the model already loaded (cold). Ratios of medians, one run.
 * Target (issue 13): warm / cold ≤ 0.3.
 *
 *   node_modules/.bin/node bench/prompt-cache-reuse.ts [rounds]
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlxRunner } from '../bridge/runners/mlx/mlx-runner.ts';
import { pythonEnvLayout } from '../bridge/python-env/python-env-layout.ts';
import type { ChatEvent } from '../protocol/chat-events.ts';
import type { ChatMessage } from '../protocol/chat-request.ts';

const TINY_CHAT = fileURLToPath(new URL('../tests/models/tiny-chat', import.meta.url).href);
const never = new AbortController().signal;

function runner(): MlxRunner {
  return new MlxRunner({
    python: pythonEnvLayout().python,
    env: { PATH: process.env.PATH, PYTHONPATH: '' },
    modelPaths: { 'tiny-chat': path.resolve(TINY_CHAT) },
    idleUnloadSec: 600,
    generateId: randomUUID,
    log: () => undefined,
  });
}

/** A long system prompt (a document the conversation is about), then four exchanges. */
const system = `You answer questions about this text. ${'The bridge runs models on the Mac and streams their answers through the tunnel. '.repeat(40)}`;
function conversation(turn: number): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  for (let i = 1; i <= turn; i += 1) {
    messages.push({ role: 'user', content: `Question ${i}: what does the bridge do, in a few words?` });
    if (i < turn) messages.push({ role: 'assistant', content: `Answer ${i}: it serves local models.` });
  }
  return messages;
}

async function ask(target: MlxRunner, messages: ChatMessage[]): Promise<{ ttftMs: number; cached: number; prompt: number }> {
  let finish: Extract<ChatEvent, { type: 'finish' }> | undefined;
  for await (const event of target.generate({ model: 'tiny-chat', messages }, { maxTokens: 4, stop: [] }, never)) if (event.type === 'finish') finish = event;
  return {
    ttftMs: finish?.stats?.ttft_ms ?? Number.NaN,
    cached: finish?.usage?.prompt_tokens_details?.cached_tokens ?? 0,
    prompt: finish?.usage?.prompt_tokens ?? 0,
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export interface PromptCacheReuse {
  promptTokens: number;
  cachedTokens: number;
  warmTtftMs: number;
  coldTtftMs: number;
  /** warm / cold, medians; the target is ≤ 0.3. */
  ratio: number;
}

/** `rounds` conversations, each timed warm (turns 1-4 first, same worker) and cold (a fresh worker). */
export async function measurePromptCacheReuse(rounds: number): Promise<PromptCacheReuse> {
  const warm: number[] = [];
  const cold: number[] = [];
  let sample = { cached: 0, prompt: 0 };
  for (let round = 0; round < rounds; round += 1) {
    const conversationRunner = runner();
    for (let turn = 1; turn < 5; turn += 1) await ask(conversationRunner, conversation(turn));
    const fifth = await ask(conversationRunner, conversation(5));
    warm.push(fifth.ttftMs);
    sample = fifth;
    await conversationRunner.cleanup();

    const coldRunner = runner();
    await ask(coldRunner, [{ role: 'user', content: 'Say hello' }]); // the model loaded, nothing of this prompt cached
    cold.push((await ask(coldRunner, conversation(5))).ttftMs);
    await coldRunner.cleanup();
  }
  const result = { promptTokens: sample.prompt, cachedTokens: sample.cached, warmTtftMs: median(warm), coldTtftMs: median(cold), ratio: median(warm) / median(cold) };
  console.log(`\nprompt-cache reuse (real mlx-lm, tiny model): turn 5 is ${result.promptTokens} prompt tokens, ${result.cachedTokens} reused from the cache`);
  console.log(`  TTFT turn 5 warm ${result.warmTtftMs.toFixed(1)} ms, cold ${result.coldTtftMs.toFixed(1)} ms: warm / cold ${result.ratio.toFixed(2)} (target ≤ 0.3)`);
  return result;
}

if (import.meta.main) await measurePromptCacheReuse(Number(process.argv[2] ?? 5));
