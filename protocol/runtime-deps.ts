/**
 * What code needs from the outside world, injected rather than reached for, so
 * tests control time and the network without patching globals.
 */
export interface RuntimeDeps {
  fetch: typeof fetch;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1): backoff jitter. */
  random: () => number;
  /** A fresh, URL-safe, unique id. */
  generateId: () => string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function generateId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/** The real world. `fetch` is looked up at call time so a runtime's own fetch is used. */
export const defaultRuntimeDeps: RuntimeDeps = {
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  sleep,
  random: () => Math.random(),
  generateId,
};
