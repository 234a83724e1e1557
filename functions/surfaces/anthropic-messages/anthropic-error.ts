/**
 * Errors on the Messages routes in Anthropic's shape,
 * `{"type":"error","error":{"type":…,"message":…}}`, with Anthropic's error
 * types and the statuses its clients retry on: an overloaded upstream is a
 * 529 `overloaded_error` (whatever status carried it through the chain), a
 * rate limit a 429, a deadline a 504 `timeout_error`. The message is the
 * gateway's, scrubbed like every error it sends.
 */
import type { GatewayError } from '../../../protocol/gateway-error.ts';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** Anthropic's status for `error`: its own, except that an overloaded upstream answers 529. */
export function anthropicErrorStatus(error: GatewayError): number {
  return error.code === 'overloaded' ? 529 : error.status;
}

/** Anthropic's error type for `error`. */
export function anthropicErrorType(error: GatewayError): string {
  const status = anthropicErrorStatus(error);
  if (status === 529 || error.type === 'service_unavailable') return 'overloaded_error';
  if (status === 413) return 'request_too_large';
  switch (error.type) {
    case 'authentication_error':
    case 'permission_error':
    case 'not_found_error':
    case 'rate_limit_error':
    case 'timeout_error':
      return error.type;
    case 'invalid_request_error':
      return status === 404 ? 'not_found_error' : 'invalid_request_error';
    default:
      return status === 429 ? 'rate_limit_error' : 'api_error';
  }
}

/** The body, with `scrub` applied to the message (the type is ours, from a fixed set). */
export function anthropicErrorBody(error: GatewayError, scrub: (text: string) => string): AnthropicErrorBody {
  return { type: 'error', error: { type: anthropicErrorType(error), message: scrub(error.message) } };
}
