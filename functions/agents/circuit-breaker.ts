/**
 * A circuit breaker per target (`provider/model`): after `failureThreshold`
 * consecutive failures the target is skipped at no cost until `coolDownMs` has
 * passed; then one request probes it (half-open). A successful probe closes the
 * breaker, a failed one opens it again. State lives in the isolate, like any
 * other per-isolate cache; time comes from the caller (injected clock).
 */

export interface CircuitBreakerOptions {
  failureThreshold: number;
  coolDownMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: CircuitBreakerOptions = { failureThreshold: 3, coolDownMs: 30_000 };

type TargetState =
  | { state: 'closed'; failures: number }
  | { state: 'open'; until: number }
  | { state: 'half-open'; probeStartedAt: number };

export type BreakerVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  readonly options: CircuitBreakerOptions;
  readonly #targets = new Map<string, TargetState>();

  constructor(options: Partial<CircuitBreakerOptions> = {}) {
    this.options = { ...DEFAULT_BREAKER_OPTIONS, ...options };
  }

  /** May a request go to `target` now? A cooled-down open breaker lets this caller probe. */
  allow(target: string, now: number): BreakerVerdict {
    const current = this.#targets.get(target);
    if (!current || current.state === 'closed') return { allowed: true };
    if (current.state === 'open') {
      if (now < current.until) return { allowed: false, retryAfterMs: current.until - now };
      this.#targets.set(target, { state: 'half-open', probeStartedAt: now });
      return { allowed: true };
    }
    // Half-open: one probe at a time. A probe that never reported (its isolate
    // work was cut short) is presumed lost after another cool-down.
    if (now - current.probeStartedAt >= this.options.coolDownMs) {
      this.#targets.set(target, { state: 'half-open', probeStartedAt: now });
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: current.probeStartedAt + this.options.coolDownMs - now };
  }

  /** Would `allow` let a request through now? Unlike `allow`, never claims the half-open probe. */
  wouldAllow(target: string, now: number): boolean {
    const current = this.#targets.get(target);
    if (!current || current.state === 'closed') return true;
    if (current.state === 'open') return now >= current.until;
    return now - current.probeStartedAt >= this.options.coolDownMs;
  }

  /** The target served: closes the breaker. */
  recordSuccess(target: string): void {
    this.#targets.delete(target);
  }

  /** The target failed in a way that is its own (not the caller's, not a client abort). */
  recordFailure(target: string, now: number): void {
    const current = this.#targets.get(target);
    if (current?.state === 'half-open' || current?.state === 'open') {
      this.#targets.set(target, { state: 'open', until: now + this.options.coolDownMs });
      return;
    }
    const failures = (current?.failures ?? 0) + 1;
    this.#targets.set(target, failures >= this.options.failureThreshold ? { state: 'open', until: now + this.options.coolDownMs } : { state: 'closed', failures });
  }

  /** The attempt ended without a verdict (the client left): a half-open probe slot is freed. */
  recordAbandoned(target: string, now: number): void {
    const current = this.#targets.get(target);
    if (current?.state === 'half-open') this.#targets.set(target, { state: 'open', until: now });
  }

  /** `closed`, `open` or `half-open`, for tests and diagnostics. */
  stateOf(target: string): TargetState['state'] {
    return this.#targets.get(target)?.state ?? 'closed';
  }
}

/** The isolate's breaker, shared by every request it serves. */
export const isolateCircuitBreaker = new CircuitBreaker();
