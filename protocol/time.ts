/**
 * The one home of time: timers, deadlines, abort racing and linking, and
 * full-jitter backoff, for the Worker and the bridge alike. Every timer is made
 * through the injected `sleep` (protocol/runtime-deps.ts), so tests drive time
 * with a fake clock instead of patching globals.
 */
import type { RuntimeDeps } from './runtime-deps.ts';

export interface Timer {
  /** Stops the timer; harmless after it fired. */
  cancel(): void;
}

/**
 * The reason a cancelled timer's sleep is aborted with. A timer is started and
 * cancelled several times per request (deadlines, the idle timer per event, the
 * SSE keep-alive per chunk), and `abort()` without a reason builds a fresh
 * DOMException, stack trace included, every time: this one is built once.
 */
const TIMER_CANCELLED = Object.freeze({ cancelled: true });

/** Calls `onFire` after `ms`, unless cancelled first. */
export function startTimer(ms: number, deps: RuntimeDeps, onFire: () => void): Timer {
  const stop = new AbortController();
  deps.sleep(Math.max(0, ms), stop.signal).then(
    () => {
      if (!stop.signal.aborted) onFire();
    },
    () => undefined, // cancelled
  );
  return { cancel: () => stop.abort(TIMER_CANCELLED) };
}

/**
 * A deadline on waits that come one after another (the next event of a stream,
 * the next pull of a response), which `ms` of waiting without an answer trips.
 * Restarting a timer for every wait cost a timer, an AbortController and a
 * listener per streamed chunk, the largest part of a chunk's CPU in workerd;
 * this keeps one timer armed per `ms` instead. When it fires, a wait that began
 * since it was armed has time left, and the timer is armed again for exactly
 * that: the deadline falls where a timer per wait would have put it.
 */
export interface WaitWatchdog {
  /** A wait begins (`ms` from now, `onSilent` runs unless it ended first). */
  begin(): void;
  /** The wait is over. */
  end(): void;
  /** No more waits: the timer is cancelled. */
  stop(): void;
}

/**
 * Runs `onSilent` when a wait lasts `ms`; after it, the same wait counts as
 * beginning anew (a keep-alive repeats every `ms` of one long silence).
 */
export function startWaitWatchdog(ms: number, deps: RuntimeDeps, onSilent: () => void): WaitWatchdog {
  let waiting = false;
  let stopped = false;
  let waitStartedAt = 0;
  // Which wait the timer was armed in: a wait under the armed timer has waited the whole `ms`.
  let wait = 0;
  let armedInWait = -1;
  let timer: Timer | undefined;

  const arm = (delayMs: number): void => {
    armedInWait = wait;
    timer = startTimer(delayMs, deps, fire);
  };
  function fire(): void {
    timer = undefined;
    if (stopped || !waiting) return; // the next wait arms it again
    const leftMs = armedInWait === wait ? 0 : ms - (deps.now() - waitStartedAt);
    if (leftMs > 0) {
      arm(leftMs);
      return;
    }
    onSilent();
    if (stopped || !waiting) return;
    wait += 1;
    waitStartedAt = deps.now();
    arm(ms);
  }

  return {
    begin() {
      if (stopped) return;
      waiting = true;
      wait += 1;
      waitStartedAt = deps.now();
      if (timer === undefined) arm(ms);
    },
    end() {
      waiting = false;
    },
    stop() {
      stopped = true;
      waiting = false;
      timer?.cancel();
      timer = undefined;
    },
  };
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined); // settled later by nobody
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Aborts `target` with `source`'s reason when `source` aborts; returns the unlink. */
export function linkAbort(source: AbortSignal, target: AbortController): () => void {
  if (source.aborted) {
    target.abort(source.reason);
    return () => undefined;
  }
  const onAbort = (): void => target.abort(source.reason);
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
}

/**
 * A signal that aborts with a `TimeoutError` after `ms` on the injected clock
 * (AbortSignal.timeout, but under the tests' control). The timer is never
 * cleared: an abort after the work finished is a no-op.
 */
export function deadlineSignal(ms: number, deps: Pick<RuntimeDeps, 'sleep'>): AbortSignal {
  const controller = new AbortController();
  void deps.sleep(ms).then(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')));
  return controller.signal;
}

export interface JitterBounds {
  baseMs: number;
  capMs: number;
}

/**
 * Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff
 * and Jitter"): a delay uniform in [0, min(cap, base·2^attempt)); `attempt`
 * counts from 0. Many clients backing off from one failure do not come back in
 * lockstep.
 */
export function fullJitterDelayMs(attempt: number, bounds: JitterBounds, random: () => number): number {
  const ceiling = Math.min(bounds.capMs, bounds.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
