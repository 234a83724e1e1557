/**
 * The fetch under the Worker's libSQL client. One deadline covers a database
 * request from its first try to its last, and a 429 is tried again with
 * full-jitter backoff until the deadline: sqld answers 429 "too many concurrent
 * requests" past its admission limit (128 by default; a burst of settings
 * requests reaches it) and Turso rate-limits the same way. A 429 is refused
 * before the statement runs, so sending it again is safe, writes included.
 */
import { type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { deadlineSignal, fullJitterDelayMs } from '../../protocol/time.ts';

const BUSY_BACKOFF = { baseMs: 20, capMs: 400 } as const;

/** A fetch for `createDatabase` with a `timeoutMs` deadline per request and retries of 429 within it. */
export function databaseFetch(timeoutMs: number, deps: Pick<RuntimeDeps, 'sleep' | 'random'>): typeof fetch {
  return async (input, init) => {
    const deadline = deadlineSignal(timeoutMs, deps);
    for (let retry = 0; ; retry++) {
      // Looked up at call time so a runtime's own fetch is used; a Request's body is read once per send.
      const response = await fetch(input instanceof Request ? input.clone() : input, { ...init, signal: deadline });
      if (response.status !== 429) return response;
      const delayMs = fullJitterDelayMs(retry, BUSY_BACKOFF, deps.random);
      const waited = await deps.sleep(delayMs, deadline).then(
        () => true,
        () => false,
      );
      // Out of time: the last 429 is the answer, so the caller hears "busy", not "timed out".
      if (!waited) return response;
      await response.body?.cancel();
    }
  };
}
