/**
 * Is the bridge on a socket still answering? Decided from what survives
 * hibernation: when it connected, the runtime's timestamp of the last ping it
 * auto-answered (the object never sees those pings), the last frame the object
 * saw, and when the object last found it unresponsive (kept in the socket's
 * attachment). Any word from the bridge after that mark, a ping included,
 * makes it routable again. Pure: the object passes the clock in.
 */
import { HEARTBEAT_MISSED_MS, HEARTBEAT_SEC } from '../../protocol/tunnel-frames.ts';

/** A bridge silent this long (three heartbeats) is taken for gone: its socket is closed 4004. */
export const HEARTBEAT_GONE_MS = HEARTBEAT_SEC * 3 * 1000;

export interface LivenessInput {
  connectedAt: number;
  /** The last ping the runtime answered, when there was one. */
  lastPingAt: number | undefined;
  /** The last frame the object saw (0 when unknown, e.g. after hibernation). */
  lastFrameAt: number;
  /** When the object found the bridge unresponsive (no ack in time), if it did. */
  unresponsiveSince: number | undefined;
}

export type Liveness =
  | { state: 'alive' }
  /** Routed to no more until it speaks; `reason` is for the client's error message. */
  | { state: 'unresponsive'; reason: string; since: number }
  /** Silent past three heartbeats: the link is dead. */
  | { state: 'gone' };

/** When the bridge last gave a sign of life. */
export function lastHeardAt(input: LivenessInput): number {
  return Math.max(input.connectedAt, input.lastPingAt ?? 0, input.lastFrameAt);
}

/** The bridge's liveness at `now`. */
export function bridgeLiveness(input: LivenessInput, now: number): Liveness {
  const heard = lastHeardAt(input);
  const silentMs = now - heard;
  if (silentMs > HEARTBEAT_GONE_MS) return { state: 'gone' };
  if (input.unresponsiveSince !== undefined && heard <= input.unresponsiveSince) {
    return { state: 'unresponsive', reason: 'it left a request unacknowledged and has said nothing since', since: input.unresponsiveSince };
  }
  if (silentMs > HEARTBEAT_MISSED_MS) {
    return { state: 'unresponsive', reason: `it has missed its heartbeat (silent for ${Math.round(silentMs / 1000)} s)`, since: heard };
  }
  return { state: 'alive' };
}
