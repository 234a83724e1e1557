/** The default user's settings service for a Worker env (its database from functions/config.ts). */
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { DEFAULT_USER_ID, getConfig, type Env } from '../config.ts';
import { getDatabase } from '../../db/client.ts';
import { databaseNotConfigured } from './database-error.ts';
import { createSettingsService, type SettingsService } from './settings-service.ts';

/** The service for `userId` (today always the default user); 503 when no database is configured. */
export function settingsServiceFor(env: Env, deps: Pick<RuntimeDeps, 'now'> = defaultRuntimeDeps, userId: string = DEFAULT_USER_ID): SettingsService {
  const config = getConfig(env);
  if (!config.database) throw databaseNotConfigured();
  return createSettingsService({
    db: getDatabase(config.database).db,
    userId,
    defaultTransport: config.defaultTransport,
    now: deps.now,
  });
}
