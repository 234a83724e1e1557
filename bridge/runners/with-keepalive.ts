/**
 * Passes a stream through and, whenever it stays silent for `everyMs`, yields
 * what `tick()` returns (nothing when it returns undefined). The MLX runner uses
 * it to keep reporting `progress load` while a long model load (a first
 * Hugging Face download) says nothing, so the gateway's idle deadline never
 * mistakes a load for a dead stream.
 */
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';

export interface KeepAliveOptions<T> {
  everyMs: number;
  /** The keep-alive item, or undefined when none is due in the current state. */
  tick: () => T | undefined;
  /** The injected clock (tests use a fake one). */
  sleep: RuntimeDeps['sleep'];
}

const SILENCE = Symbol('silence');

/** `source`'s items, with `tick()` items in every silence of `everyMs`. */
export async function* withKeepAlive<T>(source: AsyncIterable<T>, options: KeepAliveOptions<T>): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  let done = false;
  try {
    for (;;) {
      if (!pending) {
        pending = iterator.next();
        // Observed by the race below; this only keeps an abandoned one from being "unhandled".
        pending.catch(() => undefined);
      }
      const stop = new AbortController();
      const silence = options.sleep(options.everyMs, stop.signal).then(
        (): typeof SILENCE => SILENCE,
        (): typeof SILENCE => SILENCE,
      );
      const winner = await Promise.race([pending, silence]).finally(() => stop.abort());
      if (winner === SILENCE) {
        const item = options.tick();
        if (item !== undefined) yield item;
        continue;
      }
      pending = undefined;
      if (winner.done) {
        done = true;
        return;
      }
      yield winner.value;
    }
  } finally {
    // Not awaited: a source waiting on its next item would hold the caller's return() until it arrives.
    if (!done) void iterator.return?.()?.catch(() => undefined);
  }
}
