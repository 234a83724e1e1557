/**
 * The `stored_responses` table's queries. An expired row is never returned,
 * whether or not the clean-up has deleted it yet.
 */
import { and, eq, gt, inArray, lte } from 'drizzle-orm';
import type { SettingsDatabase } from './client.ts';
import { storedResponses, type StoredResponseRow } from './schema.ts';

/** Rows deleted per clean-up: a write never turns into a long purge. */
const EXPIRED_BATCH = 100;

/** Inserts (or, for the same id, replaces) one stored response. */
export async function saveStoredResponse(db: SettingsDatabase, row: StoredResponseRow): Promise<void> {
  await db
    .insert(storedResponses)
    .values(row)
    .onConflictDoUpdate({ target: storedResponses.id, set: { response: row.response, items: row.items, expiresAt: row.expiresAt } });
}

/** The user's response `id` while it has not expired at `now`. */
export async function findStoredResponse(db: SettingsDatabase, userId: string, id: string, now: number): Promise<StoredResponseRow | undefined> {
  const rows = await db
    .select()
    .from(storedResponses)
    .where(and(eq(storedResponses.id, id), eq(storedResponses.userId, userId), gt(storedResponses.expiresAt, now)))
    .limit(1);
  return rows[0];
}

/** Deletes the user's response `id`; true when there was one. */
export async function deleteStoredResponse(db: SettingsDatabase, userId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(storedResponses)
    .where(and(eq(storedResponses.id, id), eq(storedResponses.userId, userId)))
    .returning({ id: storedResponses.id });
  return rows.length > 0;
}

/** Deletes up to a batch of rows that expired by `now`; resolves with how many. */
export async function deleteExpiredResponses(db: SettingsDatabase, now: number): Promise<number> {
  const expired = db.select({ id: storedResponses.id }).from(storedResponses).where(lte(storedResponses.expiresAt, now)).limit(EXPIRED_BATCH);
  const rows = await db.delete(storedResponses).where(inArray(storedResponses.id, expired)).returning({ id: storedResponses.id });
  return rows.length;
}
