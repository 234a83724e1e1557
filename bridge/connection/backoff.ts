/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture
 * blog, "Exponential Backoff And Jitter"), so a fleet of bridges dropped by one
 * deploy does not come back in lockstep.
 */

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
/** A connection that lasted this long counts as stable: the next failure starts from the base again. */
export const STABLE_CONNECTION_MS = 60_000;

/** The delay before reconnect attempt `attempt` (0 = first retry): uniform in [0, min(cap, base·2^attempt)). */
export function fullJitterDelay(attempt: number, random: () => number, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
