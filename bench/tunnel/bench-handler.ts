/**
 * The bench's deterministic BridgeHandler (the pattern of
 * tests/helpers/test-runner.ts, tuned for measuring): one loaded model,
 * `bench`, whose answer is steered by the last user message:
 *
 *   "stream:K deltas:N"         → N text deltas "K.0 " … "K.(N-1) " as fast as the
 *                                 generator can yield (one event-loop turn in all,
 *                                 so the bridge may batch them into few frames);
 *   "stream:K deltas:N paced"   → the same, but each delta in its own event-loop
 *                                 turn, like tokens from a very fast model (the
 *                                 bridge then sends at most one frame per 5 ms window);
 *   "stream:K deltas:N spaced:MS" → each delta MS ms after the one before: with MS
 *                                 over the bridge's 5 ms window, one frame per delta.
 *
 * The same handler serves through the tunnel (bench/tunnel/bench-bridge.ts) and
 * in-process (the direct baseline), so the difference is the tunnel's.
 */
import type { BridgeHandler } from '../../bridge/bridge-handler.ts';
import type { RunnerMemory } from '../../bridge/runners/runner.ts';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { contentText, type ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';

export const BENCH_RUNNER = 'bench';
export const BENCH_MODEL = 'bench';

/** The pieces the handler yields for `stream:K deltas:N`; shared with the checks. */
export function benchPieces(key: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${key}.${index} `);
}

/** The prompt that asks for `count` deltas tagged `key`. */
export function benchPrompt(key: string, count: number, paced = false): string {
  return `stream:${key} deltas:${count}${paced ? ' paced' : ''}`;
}

function readPrompt(request: ChatRequest): { key: string; count: number; paced: boolean; spacedMs: number } {
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
  const text = contentText(lastUser?.content);
  const key = /\bstream:(\S+)/.exec(text)?.[1] ?? 'x';
  const count = Number(/\bdeltas:(\d+)/.exec(text)?.[1] ?? '1');
  return { key, count, paced: /\bpaced\b/.test(text), spacedMs: Number(/\bspaced:(\d+)/.exec(text)?.[1] ?? '0') };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function* generate(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
  const { key, count, paced, spacedMs } = readPrompt(request);
  for (let index = 0; index < count; index++) {
    if (spacedMs > 0 && index > 0) await new Promise((resolve) => setTimeout(resolve, spacedMs));
    else if (paced && index > 0) await nextTurn();
    signal.throwIfAborted();
    yield { type: 'text-delta', text: `${key}.${index} ` };
  }
  yield {
    type: 'finish',
    finishReason: 'stop',
    usage: { prompt_tokens: 1, completion_tokens: count, total_tokens: count + 1 },
  };
}

/** A handler serving the `bench` model. */
export function createBenchHandler(): BridgeHandler {
  return {
    runners: () => [BENCH_RUNNER],
    listModels: async () => [{ id: BENCH_MODEL, state: 'loaded', runner: BENCH_RUNNER }],
    runnerFor: (modelId) => (modelId === BENCH_MODEL ? BENCH_RUNNER : undefined),
    generate(modelId, request, signal) {
      if (modelId !== BENCH_MODEL) {
        throw new GatewayError({ status: 404, type: 'not_found_error', code: 'model_not_found', message: `No runner serves ${modelId}`, callerFault: true });
      }
      return generate(request, signal);
    },
    memory: async (): Promise<RunnerMemory> => ({ activeBytes: 0 }),
    close: async () => undefined,
  };
}
