/**
 * drizzle-kit's config: `npm run db:generate` writes SQL migrations for db/schema.ts
 * into drizzle/. The turso dialect speaks to Turso (`libsql://…`) and to a local
 * sqld (`http://127.0.0.1:8080`) alike, so `npx drizzle-kit migrate|studio` work
 * against either; `npm run db:migrate` (scripts/migrate.ts) is the everyday path.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'turso',
  schema: './db/schema.ts',
  out: './drizzle',
  dbCredentials: {
    // A tool config, read by drizzle-kit on the developer's machine, not by the Worker.
    url: process.env.TURSO_DATABASE_URL ?? `http://127.0.0.1:${process.env.LIBSQL_PORT ?? '8080'}`,
    authToken: process.env.TURSO_AUTH_TOKEN || undefined,
  },
  strict: true,
  verbose: true,
});
