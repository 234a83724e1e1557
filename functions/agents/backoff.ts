/**
 * How long to wait before retrying the same candidate: full-jitter exponential
 * backoff (AWS architecture blog, "Exponential Backoff and Jitter"), stretched
 * to honour a Retry-After the upstream sent, unless that is beyond the cap.
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { fullJitterDelayMs } from '../../protocol/time.ts';
import type { BackoffPolicy } from './agent-types.ts';


export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'not_retryable' | 'retries_exhausted' | 'retry_after_too_long' };

/**
 * Whether to retry the same candidate after `error` (`retryable` says whether
 * its kind is worth it) on its `retry`-th retry (0 = the first), and after how long.
 */
export function decideRetry(error: GatewayError, retryable: boolean, retry: number, policy: BackoffPolicy, retryAfterCapMs: number, random: () => number): RetryDecision {
  if (!retryable) return { retry: false, reason: 'not_retryable' };
  if (retry >= policy.maxRetries) return { retry: false, reason: 'retries_exhausted' };
  const jitter = fullJitterDelayMs(retry, policy, random);
  if (error.retryAfterMs === undefined) return { retry: true, delayMs: jitter };
  // The upstream said when: waiting longer than the cap is worse than another provider.
  if (error.retryAfterMs > retryAfterCapMs) return { retry: false, reason: 'retry_after_too_long' };
  return { retry: true, delayMs: Math.max(jitter, error.retryAfterMs) };
}
