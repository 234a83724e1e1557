/**
 * What one failed attempt means to the fallback chain: is it worth another call
 * to the same target, does it say anything about the target's health (the
 * circuit breaker), and may a backup that answered it be skipped. Written once
 * here so both agents, the chain and the committed stream agree.
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';

/** The bridge is away (none connected) or not answering (connected, silent): the model itself was never asked. */
const BRIDGE_NOT_SERVING = ['bridge_offline', 'bridge_unresponsive'] as const;

/** Is `error` the bridge being away or silent, rather than anything the model said? */
export function bridgeNotServing(error: GatewayError): boolean {
  return (BRIDGE_NOT_SERVING as readonly string[]).includes(error.code ?? '');
}

/**
 * Failures that say nothing about the target's health: no bridge is connected
 * (the model itself was never asked), the bridge's queue is full (it is busy
 * serving others), or the client went away. A bridge that stopped answering
 * is tracked by its tunnel object, which routes to it again at its first
 * word: a breaker counting it too would keep the model off after it is back.
 */
const SAYS_NOTHING_ABOUT_HEALTH: ReadonlySet<string> = new Set([...BRIDGE_NOT_SERVING, 'busy', 'client_closed_request']);

/**
 * Caller faults that the target itself answered (an upstream 4xx as the
 * providers classify it, the bridge's own refusal): proof that it is alive. A
 * 400 the gateway raised before calling anything (a capability refusal such as
 * `unsupported_parameter`) proves nothing, so only these codes count.
 */
const ANSWERED_BY_TARGET: ReadonlySet<string> = new Set([
  'invalid_request',
  'context_length_exceeded',
  'model_not_found',
  'request_too_large',
  'bad_request',
]);

/**
 * Failures a backoff does not cure on the same target, though a backup may
 * serve: no bridge is connected, the connected one is not answering (a retry
 * would be refused at once), or the bridge has no runner for the model.
 */
const NOT_CURED_BY_WAITING: ReadonlySet<string> = new Set([...BRIDGE_NOT_SERVING, 'runner_unavailable']);

/**
 * Connect failures (connection refused, DNS failure): the target was never
 * reached. While a backup can be tried, waiting out a backoff for a target
 * that is not listening only delays the answer.
 */
const NEVER_REACHED: ReadonlySet<string> = new Set(['upstream_unreachable']);

/** Targets that went silent for a whole deadline: not asked again while a backup could use the time. */
const WENT_SILENT: ReadonlySet<string> = new Set(['attempt_timeout', 'idle_timeout']);

/**
 * `error` as the chain sees it when nothing of the answer has reached the
 * client (a non-streaming request is sent only once complete): a failure
 * mid-answer is then as retryable as the same failure before the first token.
 */
export function asIfNothingSent(error: GatewayError): GatewayError {
  return !error.retryable && error.retryableBeforeContent ? error.with({ retryable: true }) : error;
}

/** Did the target go silent for a whole deadline (before its first event, or mid-answer)? */
export function wentSilent(error: GatewayError): boolean {
  return WENT_SILENT.has(error.code ?? '');
}

/** Should the chain go to the next candidate at once (no retry, no backoff) when one remains? */
export function movesOnAtOnce(error: GatewayError): boolean {
  return NEVER_REACHED.has(error.code ?? '');
}

/** Is this failure worth another call to the same target (after backoff)? Never for an offline or unresponsive bridge. */
export function retriesSameTarget(error: GatewayError): boolean {
  return error.retryable && !NOT_CURED_BY_WAITING.has(error.code ?? '');
}

/** Does this failure count against the target's circuit breaker? Only failures that are its own. */
export function countsAgainstBreaker(error: GatewayError): boolean {
  return !error.callerFault && !SAYS_NOTHING_ABOUT_HEALTH.has(error.code ?? '');
}

/** Did the target itself answer, proving it alive even though the request was refused? */
export function provesTargetAlive(error: GatewayError): boolean {
  return error.callerFault && ANSWERED_BY_TARGET.has(error.code ?? '');
}

/** Was the request itself refused (a bad field, an unknown model, too large)? A client that left is not a refusal. */
export function isCallersFault(error: GatewayError): boolean {
  return error.callerFault && error.code !== 'client_closed_request';
}

/**
 * A caller fault from a backup (`index > 0`): maybe only that backup's own
 * limit (a field it does not support, a model it does not know, a request
 * shape it rejects), so the chain moves on to the next one; should none
 * serve, the refusal is the answer (attempt-outcome.ts). A prompt too long
 * for the context window is the caller's, whichever model says it, and goes
 * back at once.
 */
export function backupCannotServe(error: GatewayError, index: number): boolean {
  return index > 0 && isCallersFault(error) && error.code !== 'context_length_exceeded';
}
