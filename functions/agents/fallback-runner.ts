/**
 * The one fallback chain both agents use: try each candidate model in order,
 * retrying the same one with backoff while its failure is retryable, skipping
 * targets whose breaker is open, all under one overall deadline plus a
 * per-attempt deadline. Resolves at the commit point (the first event of the
 * model that serves); from then on nothing falls back.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { GatewayError, toGatewayError } from '../../protocol/gateway-error.ts';
import type { AttemptRecord } from '../../protocol/chat-response.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { AgentCandidate, AgentResult, FallbackPolicy } from './agent-types.ts';
import { chainFailed, failedAttempt, servedAttempt, skippedAttempt } from './attempt-outcome.ts';
import { decideRetry } from './backoff.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { committedEvents } from './committed-stream.ts';
import { attemptTimeout, clientClosed, linkAbort, overallTimeout, raceAbort, startTimer } from './deadlines.ts';

export interface FallbackRun {
  candidates: readonly AgentCandidate[];
  /** The client's signal: aborts everything, before and after the commit. */
  signal: AbortSignal;
  deps: RuntimeDeps;
  policy: FallbackPolicy;
  breaker: CircuitBreaker;
  /** Is this failure worth another call to the same target? Default: `error.retryable`. */
  retriesSameTarget?: (error: GatewayError) => boolean;
}

type AttemptOutcome =
  | { ok: true; first: ChatEvent; iterator: AsyncIterator<ChatEvent>; controller: AbortController }
  | { ok: false; error: GatewayError };

function emptyStream(modelId: string): GatewayError {
  return new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_stream_error', message: `${modelId}: the stream ended without any event`, retryable: true });
}

/** One call of one candidate, up to its first event or its failure. */
async function attempt(candidate: AgentCandidate, chainSignal: AbortSignal, deps: RuntimeDeps): Promise<AttemptOutcome> {
  const { model } = candidate;
  const controller = new AbortController();
  const unlinkChain = linkAbort(chainSignal, controller);
  const timer = startTimer(candidate.attemptTimeoutMs, deps, () => controller.abort(attemptTimeout(model.modelId, candidate.attemptTimeoutMs)));
  let iterator: AsyncIterator<ChatEvent> | undefined;
  try {
    iterator = model.stream({ request: candidate.request, signal: controller.signal })[Symbol.asyncIterator]();
    // Raced with the signal: a model that ignores its signal still cannot hold the chain.
    const first = await raceAbort(iterator.next(), controller.signal);
    if (first.done) throw emptyStream(model.modelId);
    return { ok: true, first: first.value, iterator, controller };
  } catch (error) {
    // A deadline or the client aborted: the reason is the truth, whatever the model threw.
    const failure = controller.signal.aborted ? controller.signal.reason : error;
    if (!controller.signal.aborted) controller.abort(failure); // releases the upstream body
    iterator?.return?.().catch(() => undefined);
    return { ok: false, error: toGatewayError(failure) };
  } finally {
    timer.cancel();
    unlinkChain();
  }
}

/** A caller-fault error that a backup, rather than the caller, is to blame for: try the next one. */
function backupCannotServe(error: GatewayError, index: number): boolean {
  return index > 0 && (error.code === 'unsupported_parameter' || error.code === 'model_not_found');
}

/** Runs the chain; resolves at the commit point or rejects with one GatewayError. */
export async function runWithFallback(run: FallbackRun): Promise<AgentResult> {
  const { deps, policy, breaker, signal } = run;
  const startedAt = deps.now();
  const attempts: AttemptRecord[] = [];
  const errors: GatewayError[] = [];
  let breakerRetryAfterMs: number | undefined;

  // The chain's signal: the client going away or the overall deadline.
  const chain = new AbortController();
  const unlinkClient = linkAbort(signal, chain);
  const deadline = startTimer(policy.overallTimeoutMs, deps, () => chain.abort(overallTimeout(policy.overallTimeoutMs)));
  const stopped = (): GatewayError | undefined => {
    if (signal.aborted) return clientClosed();
    if (chain.signal.aborted) return chainFailed({ attempts, errors, deadline: toGatewayError(chain.signal.reason) });
    return undefined;
  };

  try {
    for (const [index, candidate] of run.candidates.entries()) {
      const target = candidate.model.modelId;
      for (let retry = 0; ; retry++) {
        const halt = stopped();
        if (halt) throw halt;
        const verdict = breaker.allow(target, deps.now());
        if (!verdict.allowed) {
          attempts.push(skippedAttempt(candidate.model));
          breakerRetryAfterMs = Math.min(breakerRetryAfterMs ?? Infinity, verdict.retryAfterMs);
          break;
        }

        const attemptStartedAt = deps.now();
        const outcome = await attempt(candidate, chain.signal, deps);
        const latencyMs = deps.now() - attemptStartedAt;

        if (outcome.ok) {
          breaker.recordSuccess(target);
          attempts.push(servedAttempt(candidate.model, latencyMs));
          // From here only the client's leaving aborts the model, not the chain's deadline.
          const unlinkServing = linkAbort(signal, outcome.controller);
          const events = committedEvents({
            modelId: target,
            first: outcome.first,
            iterator: outcome.iterator,
            controller: outcome.controller,
            clientSignal: signal,
            idleTimeoutMs: policy.idleTimeoutMs,
            deps,
            breaker,
            onEnd: unlinkServing,
          });
          return {
            metadata: {
              backend: candidate.backend,
              provider: candidate.model.provider,
              model_id: target,
              latency_ms: deps.now() - startedAt,
              attempts,
            },
            events,
          };
        }

        const halted = stopped();
        if (halted) {
          breaker.recordAbandoned(target, deps.now());
          if (!signal.aborted) attempts.push(failedAttempt(candidate.model, outcome.error, latencyMs));
          throw signal.aborted ? halted : chainFailed({ attempts, errors, deadline: toGatewayError(chain.signal.reason) });
        }

        const { error } = outcome;
        attempts.push(failedAttempt(candidate.model, error, latencyMs));
        if (error.callerFault) {
          // The target answered: it is alive, whatever it thought of the request.
          breaker.recordSuccess(target);
          if (backupCannotServe(error, index)) {
            errors.push(error);
            break;
          }
          throw error;
        }
        errors.push(error);
        const decision = decideRetry(error, run.retriesSameTarget?.(error) ?? error.retryable, retry, policy.backoff, policy.retryAfterCapMs, deps.random);
        const remainingMs = policy.overallTimeoutMs - (deps.now() - startedAt);
        // No time to wait means the next candidate may still make it.
        if (!decision.retry || decision.delayMs >= remainingMs) {
          // One failure per request, not per attempt: a single unlucky request
          // with its retries must not take a provider out for everyone.
          breaker.recordFailure(target, deps.now());
          break;
        }
        try {
          await raceAbort(deps.sleep(decision.delayMs, chain.signal), chain.signal);
        } catch {
          // Aborted while waiting: the top of the loop says why.
        }
      }
    }
    const halt = stopped();
    if (halt) throw halt;
    throw chainFailed({ attempts, errors, breakerRetryAfterMs });
  } finally {
    deadline.cancel();
    unlinkClient();
  }
}
