/**
 * The database client: libSQL over HTTP (Hrana), the same code against Turso
 * (`libsql://…`, which the web client speaks as HTTPS) and a local sqld
 * (`http://127.0.0.1:8080`). `@libsql/client/web` needs only `fetch`, so it runs
 * in workerd and in Node alike.
 */
import { createClient, type Client } from '@libsql/client/web';
import { drizzle } from 'drizzle-orm/libsql/web';
import type { LibSQLDatabase } from 'drizzle-orm/libsql/driver-core';
import * as schema from './schema.ts';

export interface DatabaseLocation {
  url: string;
  authToken: string | undefined;
}

export interface DatabaseOptions {
  /** The fetch to use (default: the runtime's); the Worker's adds a deadline and retries (functions/settings/database-fetch.ts). */
  fetch?: typeof fetch;
}

export type SettingsDatabase = LibSQLDatabase<typeof schema>;

export interface DatabaseHandle {
  db: SettingsDatabase;
  client: Client;
}

/**
 * A drizzle database over a fresh libSQL client for `location`. In the Worker,
 * call it once per request and never keep the handle past it: workerd ties
 * every fetch to the request that started it, and the client's concurrency
 * limiter starts a queued query from whichever query finished before it. A
 * client shared across requests therefore ran one request's query inside
 * another's I/O context; when that request ended, the query never settled, its
 * limiter slot was never given back, and after 20 such leaks every settings
 * request hung until the isolate restarted. A client costs a URL parse.
 */
export function createDatabase(location: DatabaseLocation, options: DatabaseOptions = {}): DatabaseHandle {
  const client = createClient({ url: location.url, authToken: location.authToken, fetch: options.fetch });
  return { db: drizzle(client, { schema }), client };
}
