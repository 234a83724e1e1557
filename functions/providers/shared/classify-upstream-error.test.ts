import { describe, expect, it } from 'vitest';
import { classifyUpstreamError } from './classify-upstream-error.ts';
import { parseRetryAfterMs } from './retry-after.ts';

const NOW = Date.parse('2026-11-24T04:30:00Z');
const KEY = 'sk-proj-secret-key-value-123456';

function classify(provider: string, status: number, body: unknown, headers: Record<string, string> = {}) {
  const error = classifyUpstreamError(
    { provider, status, headers: new Headers(headers), bodyText: typeof body === 'string' ? body : JSON.stringify(body) },
    { secrets: [KEY], now: NOW },
  );
  return { status: error.status, code: error.code, retryable: error.retryable, callerFault: error.callerFault, retryAfterMs: error.retryAfterMs, param: error.param };
}

const openai = (message: string, type: string, code: string | null = null, param: string | null = null) => ({ error: { message, type, param, code } });
const anthropic = (type: string, message: string) => ({ type: 'error', error: { type, message }, request_id: 'req_1' });

describe('upstream error classification', () => {
  it.each([
    // provider, status, body, headers → expected
    ['openai', 400, openai("Invalid value for 'temperature'", 'invalid_request_error', 'invalid_value', 'temperature'), {}, { code: 'invalid_request', retryable: false, callerFault: true, param: 'temperature' }],
    ['openai', 400, openai("This model's maximum context length is 128000 tokens.", 'invalid_request_error', 'context_length_exceeded', 'messages'), {}, { code: 'context_length_exceeded', callerFault: true }],
    ['openai', 401, openai('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'), {}, { code: 'upstream_auth_failed', retryable: false, callerFault: false, param: null }],
    ['anthropic', 403, anthropic('permission_error', 'Your API key does not have permission'), {}, { code: 'upstream_auth_failed', retryable: false, callerFault: false }],
    ['openai', 404, openai('The model `gpt-9` does not exist', 'invalid_request_error', 'model_not_found'), {}, { code: 'model_not_found', callerFault: true }],
    ['openai', 408, 'timeout', {}, { code: 'upstream_timeout', retryable: true }],
    ['openai', 409, 'conflict', {}, { code: 'upstream_error', retryable: true }],
    ['anthropic', 413, anthropic('request_too_large', 'Request exceeds the maximum allowed number of bytes.'), {}, { code: 'request_too_large', callerFault: true }],
    ['groq', 422, openai('Unprocessable', 'invalid_request_error'), {}, { code: 'invalid_request', callerFault: true }],
    ['openai', 429, openai('Rate limit reached', 'requests', 'rate_limit_exceeded'), { 'retry-after-ms': '1500' }, { code: 'rate_limited', retryable: true, retryAfterMs: 1500 }],
    ['openai', 429, openai('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'), {}, { code: 'spend_limit', retryable: false, callerFault: false }],
    ['anthropic', 429, anthropic('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), { 'retry-after': '12' }, { code: 'rate_limited', retryable: true, retryAfterMs: 12_000 }],
    ['anthropic', 429, anthropic('rate_limit_error', "This request would exceed your account's monthly spend limit."), {}, { code: 'spend_limit', retryable: false }],
    ['anthropic', 400, anthropic('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.'), {}, { code: 'spend_limit', retryable: false, callerFault: false }],
    ['xai', 403, { code: 'The caller does not have permission', error: 'Your team has run out of credits.' }, {}, { code: 'spend_limit', callerFault: false }],
    ['openai', 500, openai('The server had an error', 'server_error'), {}, { code: 'upstream_error', retryable: true }],
    ['openai', 502, '<html><body>Bad gateway</body></html>', {}, { code: 'upstream_error', retryable: true }],
    ['groq', 503, openai('Service unavailable', 'internal_server_error'), { 'retry-after': 'Tue, 24 Nov 2026 04:30:05 GMT' }, { retryable: true, retryAfterMs: 5000 }],
    ['anthropic', 529, anthropic('overloaded_error', 'Overloaded'), {}, { code: 'overloaded', retryable: true, callerFault: false }],
    ['anthropic', 500, anthropic('api_error', 'Internal server error'), {}, { code: 'upstream_error', retryable: true }],
  ] as const)('%s %i %j → %j', (provider, status, body, headers, expected) => {
    expect(classify(provider, status, body, headers)).toMatchObject({ status, ...expected });
  });

  it('keeps the status, names the provider and scrubs the key from the message', () => {
    const error = classifyUpstreamError(
      { provider: 'openai', status: 401, headers: new Headers(), bodyText: JSON.stringify(openai(`Incorrect API key provided: ${KEY}`, 'invalid_request_error', 'invalid_api_key')) },
      { secrets: [KEY], now: NOW },
    );
    expect(error.status).toBe(401);
    expect(error.message).toBe('openai: Incorrect API key provided: [redacted]');
  });

  it('says only the status when the body is an HTML page', () => {
    const error = classifyUpstreamError({ provider: 'groq', status: 502, headers: new Headers(), bodyText: '<html>Bad gateway</html>' }, { secrets: [], now: NOW });
    expect(error.message).toBe('groq: HTTP 502');
  });
});

describe('retry-after', () => {
  it.each([
    [{ 'retry-after-ms': '250.5' }, 251],
    [{ 'retry-after-ms': '100', 'retry-after': '9' }, 100],
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': 'Tue, 24 Nov 2026 04:31:00 GMT' }, 60_000],
    [{ 'retry-after': 'Tue, 24 Nov 2026 04:29:00 GMT' }, 0],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('reads %j as %s ms', (headers, expected) => {
    expect(parseRetryAfterMs(new Headers(headers), NOW)).toBe(expected);
  });
});
