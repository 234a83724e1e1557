/**
 * `npm run db:migrate`: applies drizzle/'s pending migrations to
 * TURSO_DATABASE_URL (with TURSO_AUTH_TOKEN, for Turso), or else to the local
 * sqld that `npm start` runs on 127.0.0.1:${LIBSQL_PORT:-8080}.
 */
import { applyMigrations, describeDatabaseUrl } from '../db/apply-migrations.ts';

const url = process.env.TURSO_DATABASE_URL?.trim() || `http://127.0.0.1:${process.env.LIBSQL_PORT?.trim() || '8080'}`;
const authToken = process.env.TURSO_AUTH_TOKEN?.trim() || undefined;
const where = describeDatabaseUrl(url);

try {
  const { applied, total } = await applyMigrations({ url, authToken });
  console.log(applied === 0 ? `${where}: up to date (${total} migrations applied earlier)` : `${where}: applied ${applied} migration(s), ${total} in all`);
} catch (error) {
  // The cause's message may quote the URL (with a token in its query): show only its kind.
  const kind = error instanceof Error ? error.name : 'error';
  const reachable = error instanceof Error && /fetch failed|ECONNREFUSED|ENOTFOUND/i.test(`${error.message} ${String((error as { cause?: unknown }).cause)}`);
  console.error(
    reachable
      ? `Could not reach the database at ${where}. Is \`npm start\` (or sqld) running, or is TURSO_DATABASE_URL right?`
      : `Migrating ${where} failed (${kind}). Check TURSO_DATABASE_URL and TURSO_AUTH_TOKEN.`,
  );
  process.exitCode = 1;
}
