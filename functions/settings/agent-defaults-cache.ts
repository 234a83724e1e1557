/**
 * The per-isolate cache behind loadAgentDefaults. A settings write in this
 * isolate bumps the generation, which empties the cache and keeps a load that
 * was already in flight from storing what it read before the write.
 * (Other isolates see a write when their entry expires: a few seconds.)
 *
 * Only settled values are cached, never a pending promise: workerd cancels a
 * request that awaits a promise another request created once that request
 * ends ("The script will never generate a response"). Concurrent misses each
 * read the database; the reads are small and the cache fills at once.
 */
import type { AgentDefaults } from '../agents/model-selection.ts';

export type { AgentDefaults };

export interface CachedDefaults {
  /** undefined: the database could not be read; completions use the env defaults. */
  value: AgentDefaults | undefined;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const entries = new Map<string, CachedDefaults>();
let generation = 0;

/** Forgets every cached value in this isolate; call after any settings write. */
export function invalidateAgentDefaults(): void {
  generation += 1;
  entries.clear();
}

/** The cached value for `key` when it has not expired at `now`. */
export function readCachedDefaults(key: string, now: number): CachedDefaults | undefined {
  const entry = entries.get(key);
  if (entry && entry.expiresAt > now) return entry;
  if (entry) entries.delete(key);
  return undefined;
}

/**
 * Runs `load` (every caller that missed runs its own) and caches the value it
 * settles on for `ttlMs(value)`, unless a write happened meanwhile.
 */
export async function loadAndCache(
  key: string,
  load: () => Promise<AgentDefaults | undefined>,
  ttlMs: (value: AgentDefaults | undefined) => number,
  now: () => number,
): Promise<AgentDefaults | undefined> {
  const startedAt = generation;
  const value = await load();
  if (generation === startedAt) entries.set(key, { value, expiresAt: now() + ttlMs(value) });
  return value;
}
