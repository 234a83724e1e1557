/**
 * An agent's committed result as an OpenAI SSE response. The headers (with the
 * metadata of the model that serves) go out with the role chunk at once; every
 * event follows as soon as it arrives (no batching, no added delay). A failure
 * after this point cannot change the status: it is sent as
 * `data: {"error": …}` and the stream closes without `[DONE]`. While the model
 * is silent, a comment every `keepAliveMs` keeps proxies from timing out.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { toGatewayError, type GatewayError, type OpenAIErrorBody } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { encodeSseComment, encodeSseData, SSE_DONE } from '../../protocol/sse.ts';
import type { AgentResult } from '../agents/agent-types.ts';
import { startTimer, type Timer } from '../agents/deadlines.ts';
import { createChunkEncoder, type ChunkIdentity } from './completion-chunks.ts';

export const KEEP_ALIVE_MS = 15_000;

export interface SseResponseOptions {
  identity: ChunkIdentity;
  headers: Record<string, string>;
  deps: RuntimeDeps;
  /** The error body sent in-band after commit, every field scrubbed of secrets. */
  errorBody: (error: GatewayError) => OpenAIErrorBody;
  keepAliveMs?: number;
  /** Told how the stream ended: `done`, an error code, or `cancelled`. */
  onEnd?: (outcome: string) => void;
}

const KEEP_ALIVE = 'keep-alive';

/** The streaming response for `result`. */
export function sseResponse(result: AgentResult, options: SseResponseOptions): Response {
  const encoder = new TextEncoder();
  const chunks = createChunkEncoder(options.identity);
  const iterator = result.events[Symbol.asyncIterator]();
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  // A read that outlived a keep-alive tick is picked up by the next pull, never repeated.
  let pending: Promise<IteratorResult<ChatEvent>> | undefined;
  let ended = false;
  const end = (outcome: string): void => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(chunks.start()));
    },
    async pull(controller) {
      pending ??= iterator.next();
      let timer: Timer | undefined;
      const tick = new Promise<typeof KEEP_ALIVE>((resolve) => {
        timer = startTimer(keepAliveMs, options.deps, () => resolve(KEEP_ALIVE));
      });
      let next: IteratorResult<ChatEvent> | typeof KEEP_ALIVE;
      try {
        next = await Promise.race([pending, tick]);
      } catch (error) {
        pending = undefined;
        const failure = toGatewayError(error);
        controller.enqueue(encoder.encode(encodeSseData(options.errorBody(failure))));
        controller.close();
        end(failure.code ?? failure.type);
        return;
      } finally {
        timer?.cancel();
      }
      if (next === KEEP_ALIVE) {
        controller.enqueue(encoder.encode(encodeSseComment(KEEP_ALIVE)));
        return;
      }
      pending = undefined;
      if (next.done) {
        controller.enqueue(encoder.encode(SSE_DONE));
        controller.close();
        end('done');
        return;
      }
      const text = chunks.encode(next.value);
      if (text !== '') controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      end('cancelled');
      await iterator.return?.();
    },
  });

  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...options.headers,
    },
  });
}
