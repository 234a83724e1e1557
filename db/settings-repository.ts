/**
 * The `user_settings` table's queries. Every write is one SQL statement, so
 * concurrent writers never lose each other's fields (no read-modify-write).
 */
import { eq } from 'drizzle-orm';
import type { SettingsDatabase } from './client.ts';
import { userSettings, type NewUserSettingsRow, type UserSettingsRow } from './schema.ts';
import type { SettingsChange, SettingsReplacement } from './settings-dto.ts';

type SettingsColumns = Partial<Pick<NewUserSettingsRow, 'preferredTransport' | 'defaultOnlineModel' | 'defaultLocalModel' | 'backupModels' | 'ragArchives'>>;

/** The wire fields the change carries, as columns; absent fields stay absent. */
function toColumns(change: SettingsChange): SettingsColumns {
  const columns: SettingsColumns = {};
  if (change.preferred_transport !== undefined) columns.preferredTransport = change.preferred_transport;
  if (change.default_online_model !== undefined) columns.defaultOnlineModel = change.default_online_model;
  if (change.default_local_model !== undefined) columns.defaultLocalModel = change.default_local_model;
  if (change.backup_models !== undefined) columns.backupModels = change.backup_models;
  if (change.rag_archives !== undefined) columns.ragArchives = change.rag_archives;
  return columns;
}

/** The user's row, or undefined when they never saved settings. */
export async function findSettingsRow(db: SettingsDatabase, userId: string): Promise<UserSettingsRow | undefined> {
  const rows = await db.select().from(userSettings).where(eq(userSettings.userId, userId)).limit(1);
  return rows[0];
}

/**
 * Upserts exactly the given columns: a new row takes the columns' defaults for
 * the rest, an existing row keeps them. `now` is ISO 8601 UTC.
 */
export async function upsertSettingsRow(db: SettingsDatabase, userId: string, change: SettingsChange, now: string): Promise<UserSettingsRow> {
  const columns = toColumns(change);
  const rows = await db
    .insert(userSettings)
    .values({ ...columns, userId, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: userSettings.userId, set: { ...columns, updatedAt: now } })
    .returning();
  const row = rows[0];
  // RETURNING of an upsert always yields the row; anything else is a broken database.
  if (!row) throw new Error('upsert returned no row');
  return row;
}

/** Replaces every user-writable column (PUT). */
export function replaceSettingsRow(db: SettingsDatabase, userId: string, replacement: SettingsReplacement, now: string): Promise<UserSettingsRow> {
  return upsertSettingsRow(db, userId, replacement, now);
}

/** Deletes the user's row; true when there was one. */
export async function deleteSettingsRow(db: SettingsDatabase, userId: string): Promise<boolean> {
  const rows = await db.delete(userSettings).where(eq(userSettings.userId, userId)).returning({ userId: userSettings.userId });
  return rows.length > 0;
}
