import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { fullJitterDelayMs } from '../../protocol/time.ts';
import { decideRetry } from './backoff.ts';

const policy = { baseMs: 250, capMs: 4_000, maxRetries: 2 };
const retryable = (retryAfterMs?: number): GatewayError =>
  new GatewayError({ status: 429, type: 'rate_limit_error', message: 'slow down', retryable: true, retryAfterMs });

describe('full-jitter backoff', () => {
  it('draws each delay below base·2^retry, never above the cap', () => {
    const almostOne = (): number => 0.999_999;
    expect([0, 1, 2, 3, 4, 5, 10].map((retry) => fullJitterDelayMs(retry, policy, almostOne))).toEqual([249, 499, 999, 1999, 3999, 3999, 3999]);
  });

  it('can draw zero (full jitter spreads retries over the whole window)', () => {
    expect(fullJitterDelayMs(3, policy, () => 0)).toBe(0);
  });
});

describe('whether to retry the same provider', () => {
  it('retries a retryable failure up to the retry limit, then stops', () => {
    expect(decideRetry(retryable(), true, 0, policy, 10_000, () => 0.5)).toEqual({ retry: true, delayMs: 125 });
    expect(decideRetry(retryable(), true, 1, policy, 10_000, () => 0.5)).toEqual({ retry: true, delayMs: 250 });
    expect(decideRetry(retryable(), true, 2, policy, 10_000, () => 0.5)).toEqual({ retry: false, reason: 'retries_exhausted' });
  });

  it('never retries what is not worth it', () => {
    expect(decideRetry(retryable(), false, 0, policy, 10_000, () => 0.5)).toEqual({ retry: false, reason: 'not_retryable' });
  });

  it('waits the Retry-After when it is longer than the jitter and within the cap', () => {
    expect(decideRetry(retryable(2_000), true, 0, policy, 10_000, () => 0.5)).toEqual({ retry: true, delayMs: 2_000 });
    expect(decideRetry(retryable(10), true, 2 - 1, policy, 10_000, () => 0.5)).toEqual({ retry: true, delayMs: 250 });
  });

  it('goes to the next provider instead of waiting a Retry-After beyond the cap', () => {
    expect(decideRetry(retryable(60_000), true, 0, policy, 10_000, () => 0.5)).toEqual({ retry: false, reason: 'retry_after_too_long' });
  });
});
