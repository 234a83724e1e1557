/**
 * The database schema (drizzle, SQLite core: Turso in production, sqld locally).
 * Migrations in drizzle/ are generated from this file by `npm run db:generate`.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** The two ways a request can be served: the clouds, or the model on the user's Mac. */
export const TRANSPORTS = ['online', 'local'] as const;

/**
 * One row per user. A missing row, or a NULL column, means "the default": the
 * service fills defaults in when it reads, so a changed env default (e.g.
 * AGENT_DEFAULT_TRANSPORT) applies to every user who never chose otherwise.
 */
export const userSettings = sqliteTable(
  'user_settings',
  {
    // Keyed by user: today every request is DEFAULT_USER_ID's, tomorrow each API key's owner.
    userId: text('user_id').primaryKey(),
    // NULL: follow AGENT_DEFAULT_TRANSPORT.
    preferredTransport: text('preferred_transport', { enum: TRANSPORTS }),
    defaultOnlineModel: text('default_online_model'),
    defaultLocalModel: text('default_local_model'),
    // JSON arrays in TEXT columns; the CHECKs keep hand-written SQL from storing anything else.
    backupModels: text('backup_models', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
    ragArchives: text('rag_archives', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
    // ISO 8601 UTC with milliseconds, set by the server's clock.
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (table) => [
    check('user_settings_preferred_transport', sql`${table.preferredTransport} IN ('online', 'local')`),
    check('user_settings_backup_models_array', sql`json_valid(${table.backupModels}) AND json_type(${table.backupModels}) = 'array'`),
    check('user_settings_rag_archives_array', sql`json_valid(${table.ragArchives}) AND json_type(${table.ragArchives}) = 'array'`),
  ],
);

/** A row as read. */
export type UserSettingsRow = typeof userSettings.$inferSelect;
/** A row as written. */
export type NewUserSettingsRow = typeof userSettings.$inferInsert;

/**
 * Responses kept by `POST /v1/responses` with `store: true`, until `expires_at`
 * (docs/responses.md says how long). A row holds the whole response and the
 * conversation up to it (input and output items), so `previous_response_id`
 * costs one read however long the chain.
 */
export const storedResponses = sqliteTable(
  'stored_responses',
  {
    // `resp_<key>`; item ids carry the key (functions/surfaces/openai-responses/response-ids.ts).
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    // The Response object as GET /v1/responses/{id} returns it.
    response: text('response', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    // The items a continuation starts from: every earlier input and output, in order.
    items: text('items', { mode: 'json' }).$type<unknown[]>().notNull(),
    createdAt: text('created_at').notNull(),
    // Milliseconds since the epoch: compared as a number on every read and by the clean-up.
    expiresAt: integer('expires_at').notNull(),
  },
  (table) => [
    index('stored_responses_expires_at').on(table.expiresAt),
    check('stored_responses_response_object', sql`json_valid(${table.response}) AND json_type(${table.response}) = 'object'`),
    check('stored_responses_items_array', sql`json_valid(${table.items}) AND json_type(${table.items}) = 'array'`),
  ],
);

/** A stored response as read. */
export type StoredResponseRow = typeof storedResponses.$inferSelect;
