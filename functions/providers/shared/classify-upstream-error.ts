/**
 * Turns an upstream failure into a GatewayError whose flags tell the agent what
 * to do next: `retryable` (worth another try at the same provider), `callerFault`
 * (the request itself is wrong: never fall back), or neither (this provider
 * cannot serve, e.g. a bad key or an exhausted budget: move on to the next one).
 */
import { GatewayError, type GatewayErrorType } from '../../../protocol/gateway-error.ts';
import { parseRetryAfterMs } from './retry-after.ts';
import { scrubSecrets } from './scrub-secrets.ts';
import { parseUpstreamErrorBody, type UpstreamErrorDetails } from './upstream-error-body.ts';

export interface UpstreamHttpFailure {
  provider: string;
  status: number;
  headers: Headers;
  /** The (possibly truncated) response body. */
  bodyText: string;
}

export interface ClassifyContext {
  /** Values to scrub out of any message we surface. */
  secrets: readonly string[];
  /** Now, for `retry-after` HTTP dates. */
  now: number;
}

// Spend caps look like rate limits (429) or bad requests (400) but will not clear
// by retrying: OpenAI `insufficient_quota`, Anthropic "monthly spend limit",
// "credit balance is too low", "reached your specified API usage limits", xAI credits.
const SPEND_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active', 'enforced_spend_limit_reached']);
const SPEND_MESSAGE = /spend(?:ing)? limit|usage limits|credit balance|run out of credits|insufficient (?:credits|quota)|exceeded your current quota|billing/i;
const CONTEXT_MESSAGE = /context length|context window|prompt is too long|maximum context|too many tokens/i;

function isSpendLimit(status: number, details: UpstreamErrorDetails): boolean {
  if (status === 402) return true;
  if (status !== 400 && status !== 403 && status !== 429) return false;
  if (details.code && SPEND_CODES.has(details.code)) return true;
  if (details.type && SPEND_CODES.has(details.type)) return true;
  return details.message !== undefined && SPEND_MESSAGE.test(details.message);
}

function isOverloaded(status: number, details: UpstreamErrorDetails): boolean {
  return status === 529 || details.type === 'overloaded_error';
}

interface Classification {
  type: GatewayErrorType;
  code: string;
  retryable: boolean;
  callerFault: boolean;
}

function classify(status: number, details: UpstreamErrorDetails): Classification {
  const fault = (type: GatewayErrorType, code: string): Classification => ({ type, code, retryable: false, callerFault: true });
  const retry = (type: GatewayErrorType, code: string): Classification => ({ type, code, retryable: true, callerFault: false });
  const moveOn = (type: GatewayErrorType, code: string): Classification => ({ type, code, retryable: false, callerFault: false });

  if (isSpendLimit(status, details)) return moveOn('rate_limit_error', 'spend_limit');
  if (isOverloaded(status, details)) return retry('service_unavailable', 'overloaded');
  switch (status) {
    case 400:
    case 422: {
      const contextTooLong = details.code === 'context_length_exceeded' || (details.message !== undefined && CONTEXT_MESSAGE.test(details.message));
      return fault('invalid_request_error', contextTooLong ? 'context_length_exceeded' : 'invalid_request');
    }
    case 404:
      return fault('not_found_error', 'model_not_found');
    case 413:
      return fault('invalid_request_error', 'request_too_large');
    case 401:
    case 403:
      return moveOn('upstream_error', 'upstream_auth_failed');
    case 408:
      return retry('timeout_error', 'upstream_timeout');
    case 409:
      return retry('upstream_error', 'upstream_error');
    case 429:
      return retry('rate_limit_error', 'rate_limited');
    default:
      if (status >= 500) return retry('upstream_error', 'upstream_error');
      return moveOn('upstream_error', 'upstream_error');
  }
}

/** The GatewayError for a non-2xx upstream response. */
export function classifyUpstreamError(failure: UpstreamHttpFailure, context: ClassifyContext): GatewayError {
  const details = parseUpstreamErrorBody(failure.bodyText);
  const classification = classify(failure.status, details);
  const said = details.message ? scrubSecrets(details.message, context.secrets) : `HTTP ${failure.status}`;
  return new GatewayError({
    status: failure.status,
    type: classification.type,
    code: classification.code,
    // Only a caller's mistake names a field of the caller's request.
    param: classification.callerFault ? (details.param ?? null) : null,
    message: `${failure.provider}: ${said}`,
    retryable: classification.retryable,
    callerFault: classification.callerFault,
    retryAfterMs: parseRetryAfterMs(failure.headers, context.now),
  });
}

/** The GatewayError for an error event inside a 200 stream (OpenAI `data: {"error":…}`, Anthropic `event: error`). */
export function classifyStreamError(provider: string, details: UpstreamErrorDetails, sawContent: boolean, secrets: readonly string[]): GatewayError {
  const overloaded = details.type === 'overloaded_error';
  const rateLimited = details.type === 'rate_limit_error';
  const said = details.message ? scrubSecrets(details.message, secrets) : 'error event';
  return new GatewayError({
    status: 502,
    type: 'upstream_error',
    code: overloaded ? 'overloaded' : rateLimited ? 'rate_limited' : 'upstream_stream_error',
    message: `${provider}: the stream failed: ${said}`,
    // Before the first delta nothing reached the client, so a retry is invisible.
    retryable: !sawContent,
    retryableBeforeContent: true,
  });
}
