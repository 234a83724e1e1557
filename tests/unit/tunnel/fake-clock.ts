/**
 * A clock for RuntimeDeps (`now`, `sleep`) that only moves when a test says so:
 * welcome timeouts, heartbeats, model polls, request deadlines and reconnect
 * delays all wait on it, so a test steps through them without real waiting.
 */

interface Timer {
  at: number;
  order: number;
  resolve: () => void;
}

export class FakeClock {
  private current: number;
  private timers: Timer[] = [];
  private order = 0;
  private registered: Array<() => void> = [];

  constructor(start = 1_000_000) {
    this.current = start;
  }

  /** Milliseconds since the epoch, fake. */
  readonly now = (): number => this.current;

  /** Resolves once the clock has been advanced by `ms` (at once for 0), or rejects when `signal` aborts. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (ms <= 0) return resolve();
      const onAbort = (): void => {
        this.timers = this.timers.filter((timer) => timer !== entry);
        reject(signal?.reason);
      };
      const entry: Timer = {
        at: this.current + ms,
        order: this.order++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.timers.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const wake of this.registered.splice(0)) wake();
    });

  /** The delays of the sleeps now pending, soonest first. */
  pending(): number[] {
    return this.timers.map((timer) => timer.at - this.current).sort((a, b) => a - b);
  }

  /** Resolves once a sleep of exactly `ms` from now is pending (code under test reached its timer). */
  whenPending(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.pending().includes(ms)) resolve();
        else this.registered.push(check);
      };
      check();
    });
  }

  /**
   * Moves time forward by `ms`, waking due sleepers in time order and letting
   * each one's continuation run before the next (a sleeper may start a new sleep
   * that is itself due within `ms`).
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.current = due.at;
      due.resolve();
      await settle();
    }
    this.current = target;
    await settle();
  }
}

/** Lets pending promise continuations (and already queued I/O callbacks) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
