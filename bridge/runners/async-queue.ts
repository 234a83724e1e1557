/**
 * A push-to-pull bridge: a producer (process events, socket frames) pushes
 * values, a consumer iterates them. Ends with `close()` or `fail(error)`.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly values: T[] = [];
  private waiter: { resolve: () => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  /** Adds a value for the consumer (ignored once the queue has ended). */
  push(value: T): void {
    if (this.ended) return;
    this.values.push(value);
    this.wake();
  }

  /** Ends the stream after the values already pushed. */
  close(): void {
    this.ended = true;
    this.wake();
  }

  /** Ends the stream with an error, after the values already pushed. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const value = this.values.shift();
      if (value !== undefined) {
        yield value;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.waiter = { resolve };
      });
    }
  }
}
