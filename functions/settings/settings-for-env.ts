/** The default user's settings service for a Worker env (its database from functions/config.ts). */
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { databaseFetch } from './database-fetch.ts';
import { DEFAULT_USER_ID, getConfig, type Env } from '../config.ts';
import { createDatabase } from '../../db/client.ts';
import { databaseNotConfigured } from './database-error.ts';
import { createSettingsService, type SettingsService } from './settings-service.ts';

/** A settings request answers 503 rather than wait longer than this for the database. */
export const SETTINGS_DATABASE_TIMEOUT_MS = 10_000;

/** The service for `userId` (today always the default user); 503 when no database is configured. */
export function settingsServiceFor(env: Env, deps: Pick<RuntimeDeps, 'now' | 'sleep' | 'random'> = defaultRuntimeDeps, userId: string = DEFAULT_USER_ID): SettingsService {
  const config = getConfig(env);
  if (!config.database) throw databaseNotConfigured();
  return createSettingsService({
    // A client per request, never shared across requests (db/client.ts says why).
    db: createDatabase(config.database, { fetch: databaseFetch(SETTINGS_DATABASE_TIMEOUT_MS, deps) }).db,
    userId,
    defaultTransport: config.defaultTransport,
    now: deps.now,
  });
}
