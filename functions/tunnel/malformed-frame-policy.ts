/**
 * How many broken frames a bridge may send before its socket is closed 1008.
 * A stray frame (a late delta for a request the client already cancelled) is
 * normal; a stream of garbage is a broken or hostile peer, and answering each
 * frame would burn the object's CPU. Counts live in memory: hibernation resets
 * them, which only makes the policy more lenient.
 */

/** More than this many malformed frames within WINDOW_MS closes the socket. */
export const MAX_MALFORMED_FRAMES = 20;
export const MALFORMED_WINDOW_MS = 60_000;

interface Window {
  startedAt: number;
  count: number;
}

export class MalformedFramePolicy {
  private readonly windows = new Map<number, Window>();

  /** Counts one malformed frame from socket `seq`; true when the socket must now be closed. */
  record(seq: number, now: number): boolean {
    let window = this.windows.get(seq);
    if (!window || now - window.startedAt > MALFORMED_WINDOW_MS) {
      window = { startedAt: now, count: 0 };
      this.windows.set(seq, window);
    }
    window.count += 1;
    return window.count > MAX_MALFORMED_FRAMES;
  }

  /** Total malformed frames counted for socket `seq` in its current window. */
  count(seq: number): number {
    return this.windows.get(seq)?.count ?? 0;
  }

  /** Forgets a socket that closed. */
  forget(seq: number): void {
    this.windows.delete(seq);
  }
}
