/**
 * The settings of one user: read with defaults filled in, replaced, patched,
 * reset. Every database failure leaves here as a GatewayError (503 when the
 * database is down or unmigrated); every write invalidates this isolate's
 * cached agent defaults so the next completion sees it.
 */
import type { Transport } from '../../protocol/model-name.ts';
import type { SettingsDatabase } from '../../db/client.ts';
import { toUserSettings, type SettingsChange, type SettingsReplacement, type UserSettings } from '../../db/settings-dto.ts';
import { deleteSettingsRow, findSettingsRow, replaceSettingsRow, upsertSettingsRow } from '../../db/settings-repository.ts';
import { toDatabaseError } from './database-error.ts';
import { invalidateAgentDefaults } from './agent-defaults-cache.ts';

export interface SettingsServiceOptions {
  db: SettingsDatabase;
  userId: string;
  /** What `preferred_transport` reads as until the user chooses (AGENT_DEFAULT_TRANSPORT). */
  defaultTransport: Transport;
  /** Milliseconds since the epoch (RuntimeDeps.now). */
  now: () => number;
}

export interface SettingsService {
  /** The user's settings, defaults filled in where they never chose. */
  get(): Promise<UserSettings>;
  /** Replaces every field (PUT); creates the row when there is none. */
  replace(replacement: SettingsReplacement): Promise<UserSettings>;
  /** Sets the given fields only, in one statement (PATCH). */
  patch(change: SettingsChange): Promise<UserSettings>;
  /** Forgets every choice (DELETE): the defaults apply again. */
  reset(): Promise<UserSettings>;
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toDatabaseError(error);
  }
}

// A failed write may still have committed (the reply was lost), so the cache
// is dropped either way.
async function guardedWrite<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await guarded(work);
  } finally {
    invalidateAgentDefaults();
  }
}

/** The settings service for one user of one database. */
export function createSettingsService(options: SettingsServiceOptions): SettingsService {
  const { db, userId, defaultTransport } = options;
  const timestamp = (): string => new Date(options.now()).toISOString();

  return {
    get: () => guarded(async () => toUserSettings(await findSettingsRow(db, userId), defaultTransport)),
    replace: (replacement) =>
      guardedWrite(async () => toUserSettings(await replaceSettingsRow(db, userId, replacement, timestamp()), defaultTransport)),
    patch: (change) => guardedWrite(async () => toUserSettings(await upsertSettingsRow(db, userId, change, timestamp()), defaultTransport)),
    reset: () =>
      guardedWrite(async () => {
        await deleteSettingsRow(db, userId);
        return toUserSettings(undefined, defaultTransport);
      }),
  };
}
