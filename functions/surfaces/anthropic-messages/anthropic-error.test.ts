import { describe, expect, it } from 'vitest';
import { GatewayError, type GatewayErrorType } from '../../../protocol/gateway-error.ts';
import { anthropicErrorBody, anthropicErrorStatus } from './anthropic-error.ts';

function error(status: number, type: GatewayErrorType, code: string | null = null): GatewayError {
  return new GatewayError({ status, type, code, message: `failed with sk-secret-1` });
}

describe("errors in Anthropic's shape", () => {
  it.each([
    [error(400, 'invalid_request_error'), 400, 'invalid_request_error'],
    [error(401, 'authentication_error', 'invalid_api_key'), 401, 'authentication_error'],
    [error(404, 'invalid_request_error', 'model_not_found'), 404, 'not_found_error'],
    [error(413, 'invalid_request_error', 'request_too_large'), 413, 'request_too_large'],
    [error(429, 'rate_limit_error', 'rate_limited'), 429, 'rate_limit_error'],
    // An overloaded upstream is Anthropic's 529, whatever status the chain carried it with.
    [error(502, 'upstream_error', 'overloaded'), 529, 'overloaded_error'],
    [error(503, 'service_unavailable', 'bridge_offline'), 503, 'overloaded_error'],
    [error(504, 'timeout_error', 'overall_timeout'), 504, 'timeout_error'],
    [error(502, 'upstream_error', 'upstream_error'), 502, 'api_error'],
    [error(500, 'server_error'), 500, 'api_error'],
  ])('%# answers %s as %i %s', (failure, status, type) => {
    expect(anthropicErrorStatus(failure)).toBe(status);
    expect(anthropicErrorBody(failure, (text) => text.replace('sk-secret-1', '[redacted]'))).toEqual({
      type: 'error',
      error: { type, message: 'failed with [redacted]' },
    });
  });
});
