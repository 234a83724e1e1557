/**
 * Applies the SQL migrations in drizzle/ (made by drizzle-kit) that a database
 * has not seen yet. Node only: drizzle's migrator reads the folder from disk.
 * Used by `npm run db:migrate`, `npm start` and the test setups.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { createDatabase, type DatabaseLocation } from './client.ts';

/** The folder drizzle-kit generates into (drizzle.config.ts `out`). */
export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', 'drizzle');

async function countApplied(run: () => Promise<Array<{ count: number }>>): Promise<number> {
  try {
    return (await run())[0]?.count ?? 0;
  } catch {
    return 0; // No journal table yet: nothing applied.
  }
}

/** Applies pending migrations in one batch; resolves with how many were new. */
export async function applyMigrations(location: DatabaseLocation, migrationsFolder: string = MIGRATIONS_FOLDER): Promise<{ applied: number; total: number }> {
  const { db, client } = createDatabase(location);
  try {
    const count = (): Promise<Array<{ count: number }>> => db.all<{ count: number }>(sql`SELECT count(*) AS count FROM __drizzle_migrations`);
    const before = await countApplied(count);
    await migrate(db, { migrationsFolder });
    const total = await countApplied(count);
    return { applied: total - before, total };
  } finally {
    client.close();
  }
}

/** The URL without credentials or query, safe to print. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparseable URL)';
  }
}
