/**
 * The per-isolate cache behind loadAgentDefaults. A settings write in this
 * isolate bumps the generation, which empties the cache and keeps a load that
 * was already in flight from storing what it read before the write.
 * (Other isolates see a write when their entry expires: a few seconds.)
 */
import type { Transport } from '../../protocol/model-name.ts';

/** What the agent factory takes from the user's settings; absent means "not chosen". */
export interface AgentDefaults {
  preferred_transport?: Transport;
  default_online_model?: string;
  default_local_model?: string;
  backup_models?: string[];
  rag_archives?: string[];
}

export interface CachedDefaults {
  /** undefined: the database could not be read; completions use the env defaults. */
  value: AgentDefaults | undefined;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const entries = new Map<string, CachedDefaults>();
const pending = new Map<string, Promise<AgentDefaults | undefined>>();
let generation = 0;

/** Forgets every cached value in this isolate; call after any settings write. */
export function invalidateAgentDefaults(): void {
  generation += 1;
  entries.clear();
  pending.clear();
}

/** The cached value for `key` when it has not expired at `now`. */
export function readCachedDefaults(key: string, now: number): CachedDefaults | undefined {
  const entry = entries.get(key);
  if (entry && entry.expiresAt > now) return entry;
  if (entry) entries.delete(key);
  return undefined;
}

/**
 * Runs `load` once for concurrent callers of the same key and caches its
 * result for `ttlMs(result)`, unless a write happened meanwhile.
 */
export function loadOnce(
  key: string,
  load: () => Promise<AgentDefaults | undefined>,
  ttlMs: (value: AgentDefaults | undefined) => number,
  now: () => number,
): Promise<AgentDefaults | undefined> {
  const inFlight = pending.get(key);
  if (inFlight) return inFlight;
  const startedAt = generation;
  const promise = load().then((value) => {
    if (generation === startedAt) {
      entries.set(key, { value, expiresAt: now() + ttlMs(value) });
      pending.delete(key);
    }
    return value;
  });
  pending.set(key, promise);
  return promise;
}
