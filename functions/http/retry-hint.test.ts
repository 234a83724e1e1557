import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { DEFAULT_RETRY_AFTER_MS, retryHintHeaders } from './retry-hint.ts';

function error(status: number, retryAfterMs?: number, code: string | null = null): GatewayError {
  return new GatewayError({ status, type: 'service_unavailable', message: 'later', code, retryAfterMs });
}

describe('the retry hint of an error response', () => {
  const table: Array<[string, GatewayError, Record<string, string>]> = [
    ['an upstream Retry-After: 2 passed on', error(429, 2_000), { 'retry-after': '2', 'retry-after-ms': '2000' }],
    ['a breaker cool-down of 29 974 ms, rounded up', error(503, 29_974, 'circuit_open'), { 'retry-after': '30', 'retry-after-ms': '29974' }],
    ['a wait under a second is still 1 s', error(429, 250), { 'retry-after': '1', 'retry-after-ms': '250' }],
    ['a zero wait is still 1 s in Retry-After', error(503, 0), { 'retry-after': '1', 'retry-after-ms': '0' }],
    ['a fractional millisecond rounds up', error(429, 1_000.2), { 'retry-after': '2', 'retry-after-ms': '1001' }],
    ['a 503 that knows no wait gets the default', error(503), { 'retry-after': '1', 'retry-after-ms': String(DEFAULT_RETRY_AFTER_MS) }],
    ['a 429 that knows no wait gets the default', error(429), { 'retry-after': '1', 'retry-after-ms': String(DEFAULT_RETRY_AFTER_MS) }],
    ['a 502 an upstream 529 led to gets the default', error(502, undefined, 'overloaded'), { 'retry-after': '1', 'retry-after-ms': String(DEFAULT_RETRY_AFTER_MS) }],
    ['a 502 with an upstream wait keeps it', error(502, 3_000, 'upstream_error'), { 'retry-after': '3', 'retry-after-ms': '3000' }],
    ['a 400 has none', error(400), {}],
    ['a plain 502 has none', error(502, undefined, 'upstream_error'), {}],
  ];
  for (const [what, given, headers] of table) {
    it(`${what}: ${JSON.stringify(headers)}`, () => {
      expect(retryHintHeaders(given)).toEqual(headers);
    });
  }
});
