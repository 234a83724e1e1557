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
import type { GatewayError, OpenAIErrorBody } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { encodeSseComment, encodeSseData, SSE_DONE } from '../../protocol/sse.ts';
import type { AgentResult } from '../agents/agent-types.ts';
import { createChunkEncoder, type ChunkIdentity } from './completion-chunks.ts';
import { eventStreamBody, eventStreamResponse } from './event-stream-body.ts';

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
  const chunks = createChunkEncoder(options.identity);
  const body = eventStreamBody(
    result.events,
    {
      start: chunks.start(),
      encode: (event) => chunks.encode(event),
      done: SSE_DONE,
      error: (failure) => encodeSseData(options.errorBody(failure)),
      keepAlive: encodeSseComment(KEEP_ALIVE),
    },
    { deps: options.deps, keepAliveMs: options.keepAliveMs ?? KEEP_ALIVE_MS, onEnd: options.onEnd },
  );
  return eventStreamResponse(body, options.headers);
}
