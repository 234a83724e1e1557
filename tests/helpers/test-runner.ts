/**
 * A deterministic BridgeHandler for tests: no Python, no GPU. What it answers is
 * scripted by the last user message, so a test in another process (e2e, through
 * the gateway) can drive it with an ordinary chat request:
 *
 *   "tokens:5"                  → five text deltas "t0 " … "t4 ", finish stop, usage
 *   "tokens:50 delay:20"        → one delta every 20 ms
 *   "tokens:10 fail:3"          → three deltas, then a runner_crashed error
 *   "hang"                      → progress, then waits until aborted
 *   anything else               → "You said: <text>" word by word
 *
 * Models: `tiny` (loaded) and `sleepy` (available; the first request loads it,
 * emitting `progress load` and changing the model list). Any other model id is
 * `model_not_found`. Every call and abort is recorded for assertions.
 */
import type { BridgeHandler, BridgeModelInfo } from '../../bridge/bridge-handler.ts';
import type { RunnerMemory } from '../../bridge/runners/runner.ts';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { contentText, type ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';

export const TEST_RUNNER_NAME = 'test';

export interface TestHandlerCall {
  modelId: string;
  request: ChatRequest;
  /** Set when the call's signal aborted, with the abort reason. */
  aborted?: unknown;
  /** Resolves when generation has ended, however it ended. */
  settled: Promise<void>;
}

export interface TestHandler extends BridgeHandler {
  readonly calls: TestHandlerCall[];
  /** Resolves when `count` calls have started. */
  waitForCalls(count: number): Promise<TestHandlerCall[]>;
}

interface Script {
  tokens: number;
  delayMs: number;
  failAfter: number | undefined;
  hang: boolean;
  words: string[] | undefined;
}

function readScript(request: ChatRequest): Script {
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
  const text = contentText(lastUser?.content);
  const number = (name: string): number | undefined => {
    const match = new RegExp(`\\b${name}:(\\d+)`).exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const tokens = number('tokens');
  return {
    tokens: tokens ?? 0,
    delayMs: number('delay') ?? 0,
    failAfter: number('fail'),
    hang: /^\s*hang\b/.test(text),
    words: tokens === undefined ? `You said: ${text}`.split(/(?<= )/) : undefined,
  };
}

/** Resolves after `ms`, or rejects with the signal's reason. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createTestHandler(): TestHandler {
  const models = new Map<string, BridgeModelInfo>([
    ['tiny', { id: 'tiny', state: 'loaded', runner: TEST_RUNNER_NAME, bytes: 1_000_000 }],
    ['sleepy', { id: 'sleepy', state: 'available', runner: TEST_RUNNER_NAME }],
  ]);
  const calls: TestHandlerCall[] = [];
  const callWaiters: Array<() => void> = [];

  async function* generate(modelId: string, request: ChatRequest, signal: AbortSignal, call: TestHandlerCall): AsyncGenerator<ChatEvent> {
    const model = models.get(modelId);
    if (!model) {
      throw new GatewayError({ status: 404, type: 'not_found_error', code: 'model_not_found', message: `No runner serves ${modelId}`, callerFault: true });
    }
    signal.addEventListener('abort', () => (call.aborted = signal.reason), { once: true });
    if (model.state !== 'loaded') {
      yield { type: 'progress', phase: 'load', done: 0, total: 1 };
      await pause(1, signal);
      model.state = 'loaded';
      yield { type: 'progress', phase: 'load', done: 1, total: 1 };
    }
    const script = readScript(request);
    if (script.hang) {
      yield { type: 'progress', phase: 'prefill', done: 0, total: 1 };
      await pause(2 ** 31 - 1, signal);
    }
    const pieces = script.words ?? Array.from({ length: script.tokens }, (_, index) => `t${index} `);
    let sent = 0;
    for (const piece of pieces) {
      if (script.failAfter !== undefined && sent >= script.failAfter) {
        throw new GatewayError({ status: 502, type: 'upstream_error', code: 'runner_crashed', message: 'The test runner crashed', retryable: true });
      }
      if (script.delayMs > 0) await pause(script.delayMs, signal);
      signal.throwIfAborted();
      yield { type: 'text-delta', text: piece };
      sent += 1;
    }
    yield {
      type: 'finish',
      finishReason: 'stop',
      usage: { prompt_tokens: request.messages.length, completion_tokens: sent, total_tokens: request.messages.length + sent },
      stats: { ttft_ms: 1, generation_tps: 1000 },
    };
  }

  return {
    calls,
    runners: () => [TEST_RUNNER_NAME],
    listModels: async () => [...models.values()].map((model) => ({ ...model })),
    runnerFor: (modelId) => (models.has(modelId) ? TEST_RUNNER_NAME : undefined),
    generate(modelId, request, signal) {
      let settle!: () => void;
      const call: TestHandlerCall = { modelId, request, settled: new Promise((resolve) => (settle = resolve)) };
      calls.push(call);
      for (const wake of callWaiters.splice(0)) wake();
      const inner = generate(modelId, request, signal, call);
      return {
        async *[Symbol.asyncIterator]() {
          try {
            yield* inner;
          } finally {
            settle();
          }
        },
      };
    },
    memory: async (): Promise<RunnerMemory> => ({ activeBytes: 0 }),
    close: async () => undefined,
    waitForCalls(count) {
      return new Promise((resolve) => {
        const check = (): void => {
          if (calls.length >= count) resolve(calls.slice(0, count));
          else callWaiters.push(check);
        };
        check();
      });
    },
  };
}
