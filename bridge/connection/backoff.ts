/**
 * Reconnect delays: full-jitter exponential backoff (protocol/time.ts), so a
 * fleet of bridges dropped by one deploy does not come back in lockstep.
 */

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
/** A connection that lasted this long counts as stable: the next failure starts from the base again. */
export const STABLE_CONNECTION_MS = 60_000;

/** The reconnect delays' bounds, for protocol/time.ts's `fullJitterDelayMs`. */
export const RECONNECT_BACKOFF = { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS };
