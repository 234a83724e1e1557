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

export type SettingsDatabase = LibSQLDatabase<typeof schema>;

export interface DatabaseHandle {
  db: SettingsDatabase;
  client: Client;
}

/** A drizzle database over a fresh libSQL client for `location`. */
export function createDatabase(location: DatabaseLocation): DatabaseHandle {
  const client = createClient({ url: location.url, authToken: location.authToken });
  return { db: drizzle(client, { schema }), client };
}

// One client per location per isolate: the HTTP client is stateless between
// requests, so sharing it is safe and saves re-parsing the URL every request.
const handles = new Map<string, DatabaseHandle>();
const MAX_CACHED_HANDLES = 8;

/** `createDatabase`, memoised per isolate by URL and token. */
export function getDatabase(location: DatabaseLocation): DatabaseHandle {
  const key = `${location.url}\u0000${location.authToken ?? ''}`;
  let handle = handles.get(key);
  if (!handle) {
    // Tests build many envs with different URLs; keep the map small.
    if (handles.size >= MAX_CACHED_HANDLES) {
      // Not closed: a request may still be using it, and an HTTP client holds no connection of its own.
      const oldest = handles.keys().next().value;
      if (oldest !== undefined) handles.delete(oldest);
    }
    handle = createDatabase(location);
    handles.set(key, handle);
  }
  return handle;
}
