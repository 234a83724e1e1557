/**
 * A BridgeHandler decorator that prints one line when a request starts and
 * one when it ends (tokens, speed, or the error code) — the daemon's
 * human-readable request log. Never prints prompts, answers or the token.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { toGatewayError } from '../../protocol/gateway-error.ts';
import type { BridgeHandler, BridgeModelInfo } from '../bridge-handler.ts';
import type { RunnerMemory } from '../runners/runner.ts';
import { formatDuration } from './format.ts';

export class RequestLog implements BridgeHandler {
  private readonly inner: BridgeHandler;
  private readonly print: (line: string) => void;
  private readonly now: () => number;
  private sequence = 0;

  constructor(inner: BridgeHandler, print: (line: string) => void, now: () => number = Date.now) {
    this.inner = inner;
    this.print = print;
    this.now = now;
  }

  runners(): string[] {
    return this.inner.runners();
  }

  listModels(): Promise<BridgeModelInfo[]> {
    return this.inner.listModels();
  }

  runnerFor(modelId: string): string | undefined {
    return this.inner.runnerFor(modelId);
  }

  memory(): Promise<RunnerMemory> {
    return this.inner.memory();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async *generate(modelId: string, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    const number = ++this.sequence;
    const started = this.now();
    const runner = this.inner.runnerFor(modelId) ?? '?';
    this.print(`request #${number}: ${modelId} on ${runner}`);
    let outcome = 'ended early';
    try {
      for await (const event of this.inner.generate(modelId, request, signal)) {
        if (event.type === 'finish') {
          const tokens = event.usage ? `, ${event.usage.completion_tokens} tokens` : '';
          const speed = event.stats?.generation_tps ? `, ${event.stats.generation_tps.toFixed(1)} tok/s` : '';
          outcome = `${event.finishReason} in ${formatDuration(this.now() - started)}${tokens}${speed}`;
        }
        yield event;
      }
    } catch (error) {
      outcome = signal.aborted ? 'cancelled by the client' : `failed: ${toGatewayError(error).code ?? 'error'} (${toGatewayError(error).message})`;
      throw error;
    } finally {
      this.print(`request #${number}: ${outcome}`);
    }
  }
}
