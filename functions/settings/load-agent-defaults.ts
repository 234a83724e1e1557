/**
 * The user's settings as the agent factory needs them, for every completion.
 * Cached per isolate for a few seconds (a write in the same isolate shows at
 * once); without a database, or with the database down, completions still
 * work: this returns undefined and the env defaults apply.
 */
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { databaseFetch } from './database-fetch.ts';
import { DEFAULT_USER_ID, getConfig, type Env } from '../config.ts';
import { createDatabase } from '../../db/client.ts';
import { findSettingsRow } from '../../db/settings-repository.ts';
import type { UserSettingsRow } from '../../db/schema.ts';
import { toDatabaseError } from './database-error.ts';
import { loadAndCache, readCachedDefaults, type AgentDefaults } from './agent-defaults-cache.ts';

export type { AgentDefaults } from './agent-defaults-cache.ts';
export { invalidateAgentDefaults } from './agent-defaults-cache.ts';

/** How long a read stays fresh in an isolate. */
export const AGENT_DEFAULTS_TTL_MS = 5_000;
/** How long a failed read is remembered, so a down database costs one wait per second, not one per request. */
export const AGENT_DEFAULTS_FAILURE_TTL_MS = 1_000;
/** A completion never waits longer than this for the settings (the database request's own deadline). */
export const AGENT_DEFAULTS_TIMEOUT_MS = 2_000;

function toAgentDefaults(row: UserSettingsRow | undefined): AgentDefaults {
  const defaults: AgentDefaults = {};
  if (!row) return defaults;
  if (row.preferredTransport) defaults.preferred_transport = row.preferredTransport;
  if (row.defaultOnlineModel) defaults.default_online_model = row.defaultOnlineModel;
  if (row.defaultLocalModel) defaults.default_local_model = row.defaultLocalModel;
  if (row.backupModels.length > 0) defaults.backup_models = row.backupModels;
  if (row.ragArchives.length > 0) defaults.rag_archives = row.ragArchives;
  return defaults;
}

export interface LoadAgentDefaultsOptions {
  /** The clock and sleep (tests inject them). */
  deps?: RuntimeDeps;
  /** Whose settings; the default user until requests carry their own. */
  userId?: string;
}

/**
 * The user's choices for agent selection; `{}` when they chose nothing,
 * undefined when there is no database or it cannot be read right now.
 */
export async function loadAgentDefaults(env: Env, options: LoadAgentDefaultsOptions = {}): Promise<AgentDefaults | undefined> {
  const deps = options.deps ?? defaultRuntimeDeps;
  const userId = options.userId ?? DEFAULT_USER_ID;
  let location;
  try {
    location = getConfig(env).database;
  } catch {
    return undefined; // A bad config is reported by the route that reads it; settings stay out of the way.
  }
  if (!location) return undefined;

  const key = `${location.url}\u0000${userId}`;
  const cached = readCachedDefaults(key, deps.now());
  if (cached) return cached.value;

  return loadAndCache(
    key,
    async () => {
      try {
        const { db } = createDatabase(location, { fetch: databaseFetch(AGENT_DEFAULTS_TIMEOUT_MS, deps) });
        return toAgentDefaults(await findSettingsRow(db, userId));
      } catch (error) {
        const failure = toDatabaseError(error);
        // The code names the failure; the message of the cause could carry the URL.
        console.warn(`[settings] could not read the user's settings (${failure.code ?? failure.type}); completions use the env defaults`);
        return undefined;
      }
    },
    (value) => (value === undefined ? AGENT_DEFAULTS_FAILURE_TTL_MS : AGENT_DEFAULTS_TTL_MS),
    deps.now,
  );
}
