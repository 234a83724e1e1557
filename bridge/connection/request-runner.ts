/**
 * Runs one `req` frame through the BridgeHandler and answers with frames:
 * `progress`, batched `delta`s, then exactly one `end` or `err` (the scheduler
 * has already sent the `ack` when the frame arrived).
 * The request's deadline and the DO's `cancel` both abort the handler's signal;
 * the abort reason (a GatewayError) decides the final frame.
 */
import type { BridgeHandler } from '../bridge-handler.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { tunnelError, tunnelErrorFromThrown } from '../../protocol/tunnel-errors.ts';
import { DeltaCoalescer } from './delta-coalescer.ts';
import type { RequestFrame, SendFrame } from './request-scheduler.ts';
import { readRunnerRequest } from './runner-request.ts';

export interface RequestRunnerContext {
  handler: BridgeHandler;
  /** True while the connection's socket has too much unsent data. */
  isBackedUp: () => boolean;
  log: (line: string) => void;
  /** Times the request's deadline (injected so tests control time). */
  sleep: RuntimeDeps['sleep'];
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Handles one request to its end; never rejects. */
export async function runRequest(frame: RequestFrame, signal: AbortSignal, send: SendFrame, context: RequestRunnerContext): Promise<void> {
  const { handler } = context;
  let seq = 0;
  const coalescer = new DeltaCoalescer({
    send: (events) => send({ t: 'delta', id: frame.id, seq: seq++, events }),
    isBackedUp: context.isBackedUp,
  });
  // The deadline aborts the same signal a cancel frame does, with its own reason.
  const deadline = new AbortController();
  const stopDeadline = new AbortController();
  const combined = AbortSignal.any([signal, deadline.signal]);

  try {
    // Everything that can throw sits in here: a throw must become an `err` frame, never an
    // unhandled rejection that takes the bridge down with the timer still armed.
    // Timers overflow past 2^31-1 ms (and would then fire at once): a longer deadline is no deadline.
    context.sleep(Math.min(frame.deadlineMs, MAX_TIMER_MS), stopDeadline.signal).then(
      () => deadline.abort(tunnelError('timeout', `The request ran past its ${frame.deadlineMs} ms deadline`)),
      () => undefined,
    );
    const body = readRunnerRequest(frame.body);
    if (!body.ok) throw body.error;
    if (body.ignored.length > 0) context.log(`request ${frame.id}: ignored fields this bridge does not know: ${body.ignored.join(', ')}`);
    let finished = false;
    for await (const event of handler.generate(frame.model, body.request, combined)) {
      combined.throwIfAborted();
      if (event.type === 'progress') {
        coalescer.flush();
        send({ t: 'progress', id: frame.id, phase: event.phase, done: event.done, total: event.total });
      } else if (event.type === 'finish') {
        coalescer.flush();
        send({ t: 'end', id: frame.id, finish_reason: event.finishReason, usage: event.usage, stats: event.stats });
        finished = true;
        break;
      } else {
        coalescer.push(event);
      }
    }
    combined.throwIfAborted();
    if (!finished) {
      coalescer.flush();
      send({ t: 'err', id: frame.id, ...tunnelErrorFromThrown(tunnelError('runner_crashed', 'The runner stopped without finishing the response')) });
    }
  } catch (thrown) {
    coalescer.flush();
    const error = combined.aborted ? combined.reason : thrown;
    if (GatewayError.isInstance(error) && error.code === 'cancelled') {
      send({ t: 'end', id: frame.id, finish_reason: 'cancelled' });
    } else {
      if (!GatewayError.isInstance(error)) context.log(`request ${frame.id} failed: ${error instanceof Error ? error.message : String(error)}`);
      send({ t: 'err', id: frame.id, ...tunnelErrorFromThrown(error) });
    }
  } finally {
    stopDeadline.abort();
    coalescer.dispose();
  }
}
