/**
 * The one fallback chain both agents use: try each candidate model in order,
 * retrying the same one with backoff while its failure is worth it (a target
 * that refused the connection is left at once while a backup can be tried), skipping
 * targets whose breaker is open, all under one overall deadline plus a
 * per-attempt deadline capped at what is left of it. Resolves at the commit
 * point (the first content event of the model that serves, or its first
 * progress event when nothing is left to fall back to); from then on nothing
 * falls back. A buffered run (a non-streaming request) commits only at the
 * finish: until then the client has received nothing, so a failure anywhere
 * in the answer is retried or falls back like one before the first token.
 */
import { isContentEvent, type ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModelCall } from '../../protocol/chat-model.ts';
import { GatewayError, toGatewayError } from '../../protocol/gateway-error.ts';
import type { AgentMetadata, AttemptRecord } from '../../protocol/chat-response.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { AgentCandidate, AgentResult, FallbackPolicy } from './agent-types.ts';
import { chainFailed, failedAttempt, servedAttempt, skippedAttempt } from './attempt-outcome.ts';
import { decideRetry } from './backoff.ts';
import { gatherAnswer, replayAnswer } from './buffered-answer.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { committedEvents } from './committed-stream.ts';
import { attemptTimeout, clientClosed, overallTimeout } from './deadlines.ts';
import { linkAbort, raceAbort, startTimer } from '../../protocol/time.ts';
import * as failurePolicy from './failure-policy.ts';

export interface FallbackRun {
  candidates: readonly AgentCandidate[];
  /** The client's signal: aborts everything, before and after the commit. */
  signal: AbortSignal;
  deps: RuntimeDeps;
  policy: FallbackPolicy;
  breaker: CircuitBreaker;
  /** Is this failure worth another call to the same target? Default: failure-policy.ts. */
  retriesSameTarget?: (error: GatewayError) => boolean;
  /** Does this failure say the target is unhealthy? Default: failure-policy.ts. */
  countsAgainstBreaker?: (error: GatewayError) => boolean;
  /** Nothing reaches the client before the answer is complete (`stream: false`): commit at the finish. */
  buffered?: boolean;
}

type AttemptOutcome =
  | { ok: true; first: ChatEvent; iterator: AsyncIterator<ChatEvent>; controller: AbortController }
  | { ok: false; error: GatewayError };

interface AttemptPlan {
  candidate: AgentCandidate;
  /** The candidate's own deadline, capped at the overall budget left. */
  timeoutMs: number;
  /** Nothing is left to fall back to, so a progress event may commit. */
  commitsOnProgress: boolean;
}

function emptyStream(modelId: string): GatewayError {
  return new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_stream_error', message: `${modelId}: the stream ended without any event`, retryable: true });
}

/** One call of one candidate, up to its commit event or its failure. */
async function attempt(plan: AttemptPlan, chainSignal: AbortSignal, deps: RuntimeDeps): Promise<AttemptOutcome> {
  const { model } = plan.candidate;
  const controller = new AbortController();
  const unlinkChain = linkAbort(chainSignal, controller);
  const timer = startTimer(plan.timeoutMs, deps, () => controller.abort(attemptTimeout(model.modelId, plan.timeoutMs)));
  let iterator: AsyncIterator<ChatEvent> | undefined;
  try {
    const call: ChatModelCall = { request: plan.candidate.request, signal: controller.signal };
    if (plan.candidate.native) call.native = plan.candidate.native;
    iterator = model.stream(call)[Symbol.asyncIterator]();
    // Raced with the signal: a model that ignores its signal still cannot hold the chain.
    let first = await raceAbort(iterator.next(), controller.signal);
    // While backups remain, a model that is loading has not committed: its
    // progress is dropped, its deadline keeps running, and a load that fails
    // still falls back. The last candidate commits on progress, so the client
    // hears its keep-alives through a long load.
    while (!first.done && !plan.commitsOnProgress && !isContentEvent(first.value)) {
      first = await raceAbort(iterator.next(), controller.signal);
    }
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

/** Runs the chain; resolves at the commit point or rejects with one GatewayError. */
export async function runWithFallback(run: FallbackRun): Promise<AgentResult> {
  const { deps, policy, breaker, signal } = run;
  const retriesSameTarget = run.retriesSameTarget ?? failurePolicy.retriesSameTarget;
  const countsAgainstBreaker = run.countsAgainstBreaker ?? failurePolicy.countsAgainstBreaker;
  const startedAt = deps.now();
  const attempts: AttemptRecord[] = [];
  const errors: GatewayError[] = [];
  let breakerRetryAfterMs: number | undefined;
  /** The candidate tried (or skipped) last: an error answer's `x-agent-*` headers name it. */
  let lastTried: AgentCandidate | undefined;
  const metadataSoFar = (): AgentMetadata | undefined =>
    lastTried && {
      backend: lastTried.backend,
      provider: lastTried.model.provider,
      model_id: lastTried.model.modelId,
      latency_ms: deps.now() - startedAt,
      attempts: [...attempts],
    };

  // The chain's signal: the client going away or the overall deadline.
  const chain = new AbortController();
  const unlinkClient = linkAbort(signal, chain);
  const deadline = startTimer(policy.overallTimeoutMs, deps, () => chain.abort(overallTimeout(policy.overallTimeoutMs)));
  const budgetLeftMs = (): number => policy.overallTimeoutMs - (deps.now() - startedAt);
  const stopped = (): GatewayError | undefined => {
    if (signal.aborted) return clientClosed();
    if (chain.signal.aborted) return chainFailed({ attempts, errors, deadline: toGatewayError(chain.signal.reason) });
    // The deadline's timer may not have run yet although its time has come.
    if (budgetLeftMs() <= 0) return chainFailed({ attempts, errors, deadline: overallTimeout(policy.overallTimeoutMs) });
    return undefined;
  };
  /** Is a later candidate than `index` left whose breaker would let it be tried? */
  const backupRemains = (index: number): boolean =>
    run.candidates.slice(index + 1).some((later) => breaker.wouldAllow(later.model.modelId, deps.now()));
  /** The target is done with for this request: one verdict per request, not per attempt. */
  const settleFailure = (target: string, error: GatewayError): void => {
    // A single unlucky request with its retries must not take a provider out
    // for everyone; and a failure that says nothing about the target's health
    // (no bridge, a full queue) must not either, but frees a probe slot.
    if (countsAgainstBreaker(error)) breaker.recordFailure(target, deps.now());
    else breaker.recordAbandoned(target, deps.now());
  };

  try {
    for (const [index, candidate] of run.candidates.entries()) {
      const target = candidate.model.modelId;
      const isLast = index === run.candidates.length - 1;
      for (let retry = 0; ; retry++) {
        const halt = stopped();
        if (halt) throw halt;
        lastTried = candidate;
        const verdict = breaker.allow(target, deps.now());
        if (!verdict.allowed) {
          attempts.push(skippedAttempt(candidate.model));
          breakerRetryAfterMs = Math.min(breakerRetryAfterMs ?? Infinity, verdict.retryAfterMs);
          break;
        }

        const attemptStartedAt = deps.now();
        const plan: AttemptPlan = { candidate, timeoutMs: Math.min(candidate.attemptTimeoutMs, budgetLeftMs()), commitsOnProgress: isLast };
        const outcome = await attempt(plan, chain.signal, deps);
        let error: GatewayError;
        if (outcome.ok) {
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
            // A buffered answer's failure is the chain's to settle, once per request.
            countsAgainstBreaker: run.buffered ? () => false : countsAgainstBreaker,
            onEnd: unlinkServing,
          });
          const served = (answer: AsyncIterable<ChatEvent>): AgentResult => {
            breaker.recordSuccess(target);
            attempts.push(servedAttempt(candidate.model, deps.now() - attemptStartedAt));
            const metadata = { backend: candidate.backend, provider: candidate.model.provider, model_id: target, latency_ms: deps.now() - startedAt, attempts };
            return { metadata, events: answer };
          };
          if (!run.buffered) return served(events);
          const answer = await gatherAnswer(events);
          if (answer.ok) return served(replayAnswer(answer.events));
          error = failurePolicy.asIfNothingSent(answer.error);
        } else {
          error = outcome.error;
        }
        const latencyMs = deps.now() - attemptStartedAt;

        if (signal.aborted || chain.signal.aborted) {
          breaker.recordAbandoned(target, deps.now());
          if (!signal.aborted) attempts.push(failedAttempt(candidate.model, error, latencyMs));
          throw stopped() ?? clientClosed();
        }

        attempts.push(failedAttempt(candidate.model, error, latencyMs));
        if (error.callerFault) {
          // Only a refusal the target itself sent shows it alive; a check the
          // gateway made before calling it shows nothing.
          if (failurePolicy.provesTargetAlive(error)) breaker.recordSuccess(target);
          else breaker.recordAbandoned(target, deps.now());
          if (failurePolicy.backupCannotServe(error, index)) {
            errors.push(error);
            break;
          }
          throw error;
        }
        errors.push(error);
        const decision = decideRetry(error, retriesSameTarget(error), retry, policy.backoff, policy.retryAfterCapMs, deps.random);
        // A target that went silent for a whole deadline is not asked again while a
        // backup could still use the time; and a retry must leave itself time to answer.
        const hung = failurePolicy.wentSilent(error) && !isLast;
        // A target that is not listening gets no backoff while a backup that may serve remains.
        const unreachable = failurePolicy.movesOnAtOnce(error) && backupRemains(index);
        const usefulAttemptMs = Math.min(candidate.attemptTimeoutMs, policy.minAttemptMs);
        if (!decision.retry || hung || unreachable || decision.delayMs + usefulAttemptMs > budgetLeftMs()) {
          settleFailure(target, error);
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
  } catch (thrown) {
    // An error answer says what was tried, as a completion does.
    const agent = metadataSoFar();
    if (!GatewayError.isInstance(thrown) || thrown.agent || !agent) throw thrown;
    throw thrown.with({ agent });
  } finally {
    deadline.cancel();
    unlinkClient();
  }
}
