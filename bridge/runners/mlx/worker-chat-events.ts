/**
 * A generation's worker events as ChatEvents: progress, text deltas and the
 * finish with usage; a worker `error` becomes the GatewayError the tunnel
 * understands. A load or a place in the worker's queue is repeated as a
 * keep-alive while the worker stays silent, so the gateway's 30 s idle
 * deadline never ends a slow first load.
 */
import type { ChatEvent, Usage } from '../../../protocol/chat-events.ts';
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { PROGRESS_EVERY_MS, TUNNEL_ERROR_CODES, type TunnelErrorCode } from '../../../protocol/tunnel-frames.ts';
import { tunnelError } from '../../../protocol/tunnel-errors.ts';
import { modelNotOffered } from '../model-offer.ts';
import { withKeepAlive } from '../with-keepalive.ts';
import type { WorkerEvent, WorkerEventOf } from './worker-protocol.ts';

/** The worker says nothing between "load 0/1" and "loaded": the load's keep-alive cadence (protocol/tunnel-frames.ts). */
export const LOAD_PROGRESS_EVERY_MS = PROGRESS_EVERY_MS;

function isTunnelCode(code: string): code is TunnelErrorCode {
  return (TUNNEL_ERROR_CODES as readonly string[]).includes(code);
}

/** Progress that stays true until the worker's next event: a load at its start, or a place in its queue. */
function isWaiting(event: WorkerEvent): event is WorkerEventOf<'progress'> {
  return event.event === 'progress' && ((event.phase === 'load' && event.done === 0) || event.phase === 'queued');
}

/** A worker `error` event about `modelId` as the GatewayError the tunnel understands. */
export function workerError(code: string, message: string, modelId: string, param?: string): GatewayError {
  if (code === 'bad_request') return invalidRequest(message, param ?? null);
  // The worker found the repo neither in the Hugging Face cache nor allowed to download it.
  if (code === 'not_offered') return modelNotOffered(modelId);
  return tunnelError(isTunnelCode(code) ? code : 'internal', message);
}

/** The worker's counts in OpenAI's usage shape (reasoning and reused prompt tokens only when there were any). */
function toUsage({ prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens }: WorkerEventOf<'done'>['usage']): Usage {
  const usage: Usage = { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
  if (cached_tokens) usage.prompt_tokens_details = { cached_tokens };
  if (reasoning_tokens) usage.completion_tokens_details = { reasoning_tokens };
  return usage;
}

/** Turns one generation's worker events into ChatEvents; a cancelled generation throws the abort reason. */
export async function* toChatEvents(
  exchange: AsyncIterable<WorkerEvent>,
  modelId: string,
  signal: AbortSignal,
  keepAlive: { everyMs: number; sleep: RuntimeDeps['sleep'] },
): AsyncGenerator<ChatEvent> {
  // The worker says "load 0/1" or "queued" once, then nothing until the load ends or the
  // generation starts: that progress is repeated while the silence lasts.
  let waiting: WorkerEventOf<'progress'> | undefined;
  const events = withKeepAlive<WorkerEvent>(exchange, {
    ...keepAlive,
    // Still at "0 of 1", or at the last place the worker gave: a heartbeat, not a made-up figure.
    tick: () => waiting,
  });
  for await (const event of events) {
    waiting = isWaiting(event) ? event : undefined;
    switch (event.event) {
      case 'progress':
        yield { type: 'progress', phase: event.phase, done: event.done, total: event.total };
        break;
      case 'delta':
        yield event.logprobs ? { type: 'text-delta', text: event.text, logprobs: event.logprobs } : { type: 'text-delta', text: event.text };
        break;
      case 'reasoning':
        yield { type: 'reasoning-delta', text: event.text };
        break;
      case 'tool_call': {
        // The first piece carries the id and name (a format the worker cannot stream: the whole call).
        const delta: Extract<ChatEvent, { type: 'tool-call-delta' }> = { type: 'tool-call-delta', index: event.index, arguments: event.arguments };
        if (event.call_id !== undefined) delta.id = event.call_id;
        if (event.name !== undefined) delta.name = event.name;
        yield delta;
        break;
      }
      case 'error':
        throw workerError(event.code, event.message, modelId, event.param);
      case 'done': {
        if (event.finish_reason === 'cancelled') throw signal.reason ?? tunnelError('cancelled', 'The generation was cancelled');
        yield { type: 'finish', finishReason: event.finish_reason, usage: toUsage(event.usage), stats: event.stats };
        return;
      }
      default:
        break;
    }
  }
}
