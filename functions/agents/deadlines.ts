/**
 * The errors the agents' deadlines end a request with (the timers themselves
 * are protocol/time.ts).
 */
import { GatewayError } from '../../protocol/gateway-error.ts';

/** The per-attempt deadline passed before the model's first event. */
export function attemptTimeout(modelId: string, ms: number): GatewayError {
  return new GatewayError({ status: 504, type: 'timeout_error', code: 'attempt_timeout', message: `${modelId}: no answer within ${ms} ms`, retryable: true });
}

/** The overall deadline of the request passed before any model committed. */
export function overallTimeout(ms: number): GatewayError {
  return new GatewayError({ status: 504, type: 'timeout_error', code: 'deadline_exceeded', message: `No model answered within the request's deadline of ${ms} ms` });
}

/** A committed stream went silent for too long. */
export function idleTimeout(modelId: string, ms: number): GatewayError {
  // Raised mid-answer only (before the first event the attempt deadline applies).
  return new GatewayError({ status: 504, type: 'timeout_error', code: 'idle_timeout', message: `${modelId}: the stream was silent for ${ms} ms`, retryableBeforeContent: true });
}

/** The client went away; nobody reads this, but logs count it as 499. */
export function clientClosed(): GatewayError {
  return new GatewayError({ status: 499, type: 'invalid_request_error', code: 'client_closed_request', message: 'The client closed the request', callerFault: true });
}
