/**
 * The attempt log of one request, and the error a client gets when no attempt
 * served. Messages name models, statuses and error codes only: never a key.
 */
import { GatewayError } from '../../protocol/gateway-error.ts';
import type { AttemptRecord } from '../../protocol/chat-response.ts';
import type { ChatModel } from '../../protocol/chat-model.ts';
import { bridgeNotServing, isCallersFault } from './failure-policy.ts';

/** The attempt record of a model that answered. */
export function servedAttempt(model: ChatModel, latencyMs: number): AttemptRecord {
  return { provider: model.provider, model_id: model.modelId, status: 200, error_type: null, latency_ms: latencyMs };
}

/** The attempt record of a model that failed with `error`. */
export function failedAttempt(model: ChatModel, error: GatewayError, latencyMs: number): AttemptRecord {
  return { provider: model.provider, model_id: model.modelId, status: error.status, error_type: error.code ?? error.type, latency_ms: latencyMs };
}

/** The record of a model skipped because its circuit breaker is open: no call was made. */
export function skippedAttempt(model: ChatModel): AttemptRecord {
  return { provider: model.provider, model_id: model.modelId, status: 0, error_type: 'circuit_open', latency_ms: 0 };
}

/** `openai/gpt-4o: 503 upstream_error; anthropic/claude-x: 401 upstream_auth_failed` */
export function describeAttempts(attempts: readonly AttemptRecord[]): string {
  return attempts.map((attempt) => `${attempt.model_id}: ${attempt.status === 0 ? '-' : attempt.status} ${attempt.error_type ?? 'ok'}`).join('; ');
}

export interface ChainFailure {
  attempts: readonly AttemptRecord[];
  /** The errors of the attempts that ran, in order. */
  errors: readonly GatewayError[];
  /** Set when the request's overall deadline ended the chain. */
  deadline?: GatewayError;
  /** Shortest time until an open breaker lets a probe through. */
  breakerRetryAfterMs?: number;
}

/** A 400 because this model lacks a capability the request uses (`unsupported_parameter`), not a bad request. */
function isCapabilityRefusal(error: GatewayError): boolean {
  return isCallersFault(error) && error.code === 'unsupported_parameter';
}

/** The shortest wait any of `errors` asked for, when one did. */
function shortestRetryAfterMs(errors: readonly GatewayError[]): number | undefined {
  const waits = errors.map((error) => error.retryAfterMs).filter((ms): ms is number => ms !== undefined);
  return waits.length > 0 ? Math.min(...waits) : undefined;
}

/**
 * The one error for a chain in which nothing served, its status saying what
 * the client should do: the first refusal of the request itself (a 400 with
 * its `param`, a 404, a 413, a 422), whichever candidate said it and whatever
 * the others did, since no retry of the same request can succeed and a 5xx
 * would make SDKs send it again; a model's capability refusal (400
 * `unsupported_parameter`) unless another model failed for a passing reason; 504 when the deadline passed or every attempt
 * timed out; 503 when every model was skipped by its breaker, or when the
 * bridge was offline or unresponsive and nothing else was tried; 429 (with the shortest
 * Retry-After asked for) when every attempt was refused for load; else 502
 * carrying the last error's code. The message lists every attempt.
 */
export function chainFailed(failure: ChainFailure): GatewayError {
  const { attempts } = failure;
  const list = describeAttempts(attempts);
  const withAttempts = (error: GatewayError): GatewayError => error.with({ message: attempts.length > 1 ? `${error.message} Attempts: ${list}` : error.message });
  const refusal = failure.errors.find((error) => isCallersFault(error) && !isCapabilityRefusal(error));
  if (refusal) return withAttempts(refusal);
  // A model that cannot do what was asked (tools, images, a field) says nothing about the request
  // itself: when another model failed for a passing reason (load, an outage, a timeout, an open
  // breaker), a retry can succeed there, and that failure's status says so. Otherwise (the others
  // refused our key, say) the capability refusal is the answer the client can act on.
  const errors = failure.errors.filter((error) => !isCallersFault(error));
  const capability = failure.errors.find(isCapabilityRefusal);
  const passing = failure.deadline !== undefined || attempts.some((attempt) => attempt.status === 0) || errors.some((error) => error.retryable);
  if (capability && !passing) return withAttempts(capability);
  const last = errors.at(-1);
  if (failure.deadline) {
    return new GatewayError({
      status: 504,
      type: 'timeout_error',
      code: failure.deadline.code,
      message: attempts.length > 0 ? `${failure.deadline.message}. Attempts: ${list}` : failure.deadline.message,
    });
  }
  if (!last) {
    return new GatewayError({
      status: 503,
      type: 'service_unavailable',
      code: 'circuit_open',
      message: `Every model is paused after repeated failures; try again shortly. Skipped: ${list}`,
      retryAfterMs: failure.breakerRetryAfterMs,
    });
  }
  const every = (test: (error: GatewayError) => boolean): boolean => errors.every(test);
  // The bridge is away or not answering: a 503 with its own code when nothing else was tried.
  if (every(bridgeNotServing)) {
    return new GatewayError({
      status: 503,
      type: 'service_unavailable',
      code: last.code,
      message: attempts.length > 1 ? `${last.message} Attempts: ${list}` : last.message,
      retryAfterMs: last.retryAfterMs,
    });
  }
  if (every((error) => error.status === 429)) {
    return new GatewayError({
      status: 429,
      type: 'rate_limit_error',
      code: last.code,
      message: `Every model refused the request for load (${list}); try again later. Last error: ${last.message}`,
      retryAfterMs: shortestRetryAfterMs(errors),
    });
  }
  if (every((error) => error.type === 'timeout_error')) {
    return new GatewayError({
      status: 504,
      type: 'timeout_error',
      code: last.code,
      message: `Every attempt timed out (${list}). Last error: ${last.message}`,
    });
  }
  return new GatewayError({
    status: 502,
    type: 'upstream_error',
    code: last.code,
    message: `All ${attempts.length} attempts failed (${list}). Last error: ${last.message}`,
    retryAfterMs: last.retryAfterMs,
  });
}
