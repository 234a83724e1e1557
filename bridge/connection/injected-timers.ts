/**
 * Timers on the injected clock (RuntimeDeps.sleep), so tests drive the
 * welcome timeout, heartbeat, model poll and drain with fake time.
 */
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';

type Sleep = RuntimeDeps['sleep'];

/** Runs `action` once after `ms`, unless `signal` aborts first. */
export async function after(sleep: Sleep, ms: number, signal: AbortSignal, action: () => void): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch {
    return;
  }
  if (!signal.aborted) action();
}

/** Runs `action` every `ms` until `signal` aborts. */
export async function every(sleep: Sleep, ms: number, signal: AbortSignal, action: () => void): Promise<void> {
  while (!signal.aborted) {
    try {
      await sleep(ms, signal);
    } catch {
      return;
    }
    if (!signal.aborted) action();
  }
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
export async function within(sleep: Sleep, promise: Promise<void>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  const timedOut = sleep(ms, timeout.signal).then(
    () => false,
    () => true,
  );
  const settled = await Promise.race([promise.then(() => true), timedOut]);
  timeout.abort();
  return settled;
}
