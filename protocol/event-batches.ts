/**
 * Handing over events in batches without changing the iterator contract. A
 * stream that parses a network read into many events holds them at once; an
 * iterator that offers `drain()` hands over, synchronously, every event it
 * already holds, so a consumer takes a whole read's worth for one promise (and
 * the SSE encoder writes it as one chunk) instead of one promise per event.
 * Any plain AsyncIterator still works: without `drain`, nothing is held.
 */

/** An async iterator that can also give up, at once, the events it already holds. */
export interface DrainableIterator<T> extends AsyncIterator<T> {
  /** The events available now, in order ([] when none); the next `next()` continues after them. */
  drain?(): T[];
}

const NOTHING: never[] = [];

/** What `iterator` holds already (its `drain()`, or nothing). */
export function drainAvailable<T>(iterator: AsyncIterator<T>): T[] {
  const drain = (iterator as DrainableIterator<T>).drain;
  return drain ? drain.call(iterator) : NOTHING;
}

/**
 * `for await (const event of events) visit(event)`, taking what the iterator
 * already holds without a promise each. As with `for await`, an exception from
 * `visit` closes the iterator (`return()`); one from the iterator does not.
 */
export async function forEachEvent<T>(events: AsyncIterable<T>, visit: (event: T) => void): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  for (;;) {
    const result = await iterator.next();
    if (result.done) return;
    try {
      visit(result.value);
      for (const event of drainAvailable(iterator)) visit(event);
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
  }
}

/** `events` as a drainable iterator, played back from memory. */
export function replayEvents<T>(events: readonly T[]): AsyncIterableIterator<T> & DrainableIterator<T> {
  let position = 0;
  const iterator: AsyncIterableIterator<T> & DrainableIterator<T> = {
    [Symbol.asyncIterator]: () => iterator,
    next: () => Promise.resolve(position < events.length ? { done: false, value: events[position++] as T } : { done: true, value: undefined }),
    return: () => {
      position = events.length;
      return Promise.resolve({ done: true, value: undefined });
    },
    drain: () => {
      const rest = events.slice(position);
      position = events.length;
      return rest;
    },
  };
  return iterator;
}
