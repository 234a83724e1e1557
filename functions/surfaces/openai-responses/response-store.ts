/**
 * Where `store: true` responses live: the libSQL database the settings use
 * (Turso in production, sqld locally), one row per response with the
 * conversation up to it. A client per request with a deadline on every call,
 * as the settings do (db/client.ts says why it is never shared); failures
 * become the settings' 503s (`database_unavailable`, …), which leak nothing.
 */
import * as z from 'zod';
import { createDatabase, type SettingsDatabase } from '../../../db/client.ts';
import { deleteExpiredResponses, deleteStoredResponse, findStoredResponse, saveStoredResponse } from '../../../db/stored-responses-repository.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { DEFAULT_USER_ID, getConfig, type Env } from '../../config.ts';
import { databaseFetch } from '../../settings/database-fetch.ts';
import { toDatabaseError } from '../../settings/database-error.ts';
import type { ResponseObject } from './response-object.ts';
import { inputItemSchema, type ResolvedInputItem } from './responses-request.ts';

/** How long a stored response can be continued or fetched: 30 days, as OpenAI keeps them. */
export const STORED_RESPONSE_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** One database call of this route never waits longer (first try to last retry). */
export const RESPONSE_STORE_TIMEOUT_MS = 5_000;

export interface StoredConversation {
  response: ResponseObject;
  /** Every input and output item up to and including this response's output. */
  items: ResolvedInputItem[];
}

export interface ResponseStore {
  /** The stored response `id`, unexpired; undefined when there is none. */
  load(id: string): Promise<StoredConversation | undefined>;
  /** Keeps `response` with the conversation `items` for STORED_RESPONSE_TTL_MS. */
  save(response: ResponseObject, items: readonly ResolvedInputItem[]): Promise<void>;
  /** Deletes `id`; true when it existed. */
  remove(id: string): Promise<boolean>;
}

const storedItemsSchema = z.array(inputItemSchema);

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toDatabaseError(error);
  }
}

function conversationOf(row: { response: Record<string, unknown>; items: unknown[] }): StoredConversation {
  // Our own rows, but read back from outside the Worker: checked like any boundary.
  const items = storedItemsSchema.safeParse(row.items);
  if (!items.success) throw new GatewayError({ status: 500, type: 'server_error', message: 'A stored response could not be read' });
  return { response: row.response as unknown as ResponseObject, items: items.data.filter((item): item is ResolvedInputItem => item.type !== 'item_reference') };
}

/** The store over `db`, for `userId`, on the injected clock. */
export function createResponseStore(db: SettingsDatabase, userId: string, deps: Pick<RuntimeDeps, 'now'>): ResponseStore {
  return {
    load: (id) =>
      guarded(async () => {
        const row = await findStoredResponse(db, userId, id, deps.now());
        return row ? conversationOf(row) : undefined;
      }),
    save: (response, items) =>
      guarded(async () => {
        const now = deps.now();
        await saveStoredResponse(db, {
          id: response.id,
          userId,
          response: response as unknown as Record<string, unknown>,
          items: [...items],
          createdAt: new Date(now).toISOString(),
          expiresAt: now + STORED_RESPONSE_TTL_MS,
        });
        // Expired rows go a batch at a time, on writes: reads already skip them.
        await deleteExpiredResponses(db, now);
      }),
    remove: (id) => guarded(() => deleteStoredResponse(db, userId, id)),
  };
}

/** The store for this request's env; undefined when no database is configured. */
export function responseStoreFor(env: Env, deps: Pick<RuntimeDeps, 'now' | 'sleep' | 'random'>, userId: string = DEFAULT_USER_ID): ResponseStore | undefined {
  const location = getConfig(env).database;
  if (!location) return undefined;
  const { db } = createDatabase(location, { fetch: databaseFetch(RESPONSE_STORE_TIMEOUT_MS, deps) });
  return createResponseStore(db, userId, deps);
}
