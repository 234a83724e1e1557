/**
 * An agent's committed result as an OpenAI SSE response. The headers (with the
 * metadata of the model that serves) go out with the role chunk at once; every
 * event follows as soon as it arrives, never held back for company. What
 * arrived together (one network read of the upstream: protocol/event-batches.ts)
 * goes out as one write, not one per event. A failure
 * after this point cannot change the status: it is sent as
 * `data: {"error": …}` and the stream closes without `[DONE]`. While the model
 * is silent, a comment every `keepAliveMs` keeps proxies from timing out.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { toGatewayError, type GatewayError, type OpenAIErrorBody } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { encodeSseComment, encodeSseData, SSE_DONE } from '../../protocol/sse.ts';
import type { AgentResult } from '../agents/agent-types.ts';
import { drainAvailable } from '../../protocol/event-batches.ts';
import { startWaitWatchdog } from '../../protocol/time.ts';
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
  let ended = false;
  const end = (outcome: string): void => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };

  let streamController: ReadableStreamDefaultController<Uint8Array> | undefined;
  // One watchdog for the whole stream, not a timer per event: a comment after every keepAliveMs of one silence.
  const keepAlive = startWaitWatchdog(keepAliveMs, options.deps, () => {
    if (!ended) streamController?.enqueue(encoder.encode(encodeSseComment(KEEP_ALIVE)));
  });

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      streamController = controller;
      controller.enqueue(encoder.encode(chunks.start()));
    },
    async pull(controller) {
      let next: IteratorResult<ChatEvent>;
      keepAlive.begin();
      try {
        next = await iterator.next();
      } catch (error) {
        keepAlive.stop();
        const failure = toGatewayError(error);
        controller.enqueue(encoder.encode(encodeSseData(options.errorBody(failure))));
        controller.close();
        end(failure.code ?? failure.type);
        return;
      } finally {
        keepAlive.end();
      }
      if (next.done) {
        keepAlive.stop();
        controller.enqueue(encoder.encode(SSE_DONE));
        controller.close();
        end('done');
        return;
      }
      let text = chunks.encode(next.value);
      for (const event of drainAvailable(iterator)) text += chunks.encode(event);
      if (text !== '') controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      keepAlive.stop();
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
