/**
 * The retry hint of an error response: `Retry-After` in whole seconds as HTTP
 * defines it (rounded up, at least 1), and `retry-after-ms` in milliseconds,
 * which OpenAI's SDKs read first. Every 429 and 503, and an answer that an
 * upstream's 529 (overloaded) led to, carries one: the error's own wait when
 * it knows one (an upstream's Retry-After, a breaker's cool-down, the bridge's
 * figure), else DEFAULT_RETRY_AFTER_MS.
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';

/** The wait suggested when a 429/503 knows no better. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/** Statuses that tell a client to come back later: they always say when. */
const COME_BACK_LATER: ReadonlySet<number> = new Set([429, 503, 529]);

/** `retry-after` and `retry-after-ms` for `error`, or none when it has no wait to suggest. */
export function retryHintHeaders(error: GatewayError): Record<string, string> {
  const hinted = COME_BACK_LATER.has(error.status) || error.code === 'overloaded';
  const waitMs = error.retryAfterMs ?? (hinted ? DEFAULT_RETRY_AFTER_MS : undefined);
  if (waitMs === undefined) return {};
  const milliseconds = Math.max(0, Math.ceil(waitMs));
  return {
    'retry-after': String(Math.max(1, Math.ceil(milliseconds / 1000))),
    'retry-after-ms': String(milliseconds),
  };
}
