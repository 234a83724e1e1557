/**
 * The settings body on the wire (snake_case, docs/settings.md) and its validation.
 * Field types follow db/schema.ts: `SettingsChange` maps onto the row's columns
 * in settings-repository.ts, so a column change that the DTO misses fails to compile.
 */
import * as z from 'zod';
import { modelNameSchema, localModelNameSchema, parseModelName, type Transport } from '../protocol/model-name.ts';
import { invalidRequest } from '../protocol/gateway-error.ts';
import { parseOrThrow } from '../protocol/validate.ts';
import { TRANSPORTS, type UserSettingsRow } from './schema.ts';

/** Bounds: generous for a person's settings, small enough that a row stays a few KiB. */
export const SETTINGS_LIMITS = {
  backupModels: 16,
  ragArchives: 64,
  archiveIdLength: 512,
} as const;

/** What GET returns, and what the agent factory reads. */
export interface UserSettings {
  preferred_transport: Transport;
  default_online_model: string | null;
  default_local_model: string | null;
  backup_models: string[];
  rag_archives: string[];
  /** When the user last saved; null while they never have. */
  updated_at: string | null;
}

/** The fields a client may write (everything but `updated_at`). */
export type SettingsChange = Partial<Omit<UserSettings, 'updated_at'>>;
export type SettingsReplacement = Required<SettingsChange>;

const onlineModelSchema = modelNameSchema.refine((value) => parseModelName(value)?.transport === 'online', {
  message: "must be an online model: 'openai/…', 'anthropic/…', 'xai/…' or 'groq/…'",
});

// Control characters (NUL included) never belong in a name or a path, and
// would be invisible in every place the identifier is shown.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const archiveIdSchema = z
  .string()
  .min(1)
  .max(SETTINGS_LIMITS.archiveIdLength)
  .refine((value) => !CONTROL_CHARACTERS.test(value), { message: 'must not contain control characters' });

function distinct(values: readonly string[]): boolean {
  return new Set(values).size === values.length;
}

const fieldSchemas = {
  preferred_transport: z.enum(TRANSPORTS),
  default_online_model: onlineModelSchema.nullable(),
  default_local_model: localModelNameSchema.nullable(),
  backup_models: z
    .array(modelNameSchema)
    .max(SETTINGS_LIMITS.backupModels)
    .refine(distinct, { message: 'must not list a model twice' }),
  rag_archives: z
    .array(archiveIdSchema)
    .max(SETTINGS_LIMITS.ragArchives)
    .refine(distinct, { message: 'must not list an archive twice' }),
};

/** The names a client may write, in wire order. */
export const SETTINGS_FIELDS = Object.keys(fieldSchemas) as Array<keyof SettingsReplacement>;

// `updated_at` is accepted and ignored so that GET → edit → PUT round-trips;
// the server always sets it.
const updatedAtSchema = z.string().max(64).nullable().optional();

/** PUT: every field but `updated_at`. */
export const settingsReplacementSchema = z.strictObject({ ...fieldSchemas, updated_at: updatedAtSchema });

/** PATCH: any non-empty subset. */
export const settingsPatchSchema = z.strictObject({
  preferred_transport: fieldSchemas.preferred_transport.optional(),
  default_online_model: fieldSchemas.default_online_model.optional(),
  default_local_model: fieldSchemas.default_local_model.optional(),
  backup_models: fieldSchemas.backup_models.optional(),
  rag_archives: fieldSchemas.rag_archives.optional(),
  updated_at: updatedAtSchema,
});

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('The settings body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Validates a PUT body; a missing, unknown or bad field is a 400 naming it. */
export function parseSettingsReplacement(body: unknown): SettingsReplacement {
  const object = requireObject(body);
  // Checked first so the message says "missing" rather than "expected string, received undefined".
  const missing = SETTINGS_FIELDS.find((field) => !Object.hasOwn(object, field));
  if (missing) throw invalidRequest(`Missing required field '${missing}': PUT replaces every setting`, missing);
  const { updated_at: _ignored, ...replacement } = parseOrThrow(settingsReplacementSchema, object);
  return replacement;
}

/** Validates a PATCH body: at least one known field, each valid. */
export function parseSettingsPatch(body: unknown): SettingsChange {
  const object = requireObject(body);
  const { updated_at: _ignored, ...patch } = parseOrThrow(settingsPatchSchema, object);
  const change: SettingsChange = {};
  // Drop absent keys so the repository sets exactly the fields the client sent.
  for (const field of SETTINGS_FIELDS) {
    if (patch[field] !== undefined) Object.assign(change, { [field]: patch[field] });
  }
  if (Object.keys(change).length === 0) {
    throw invalidRequest(`PATCH needs at least one of: ${SETTINGS_FIELDS.join(', ')}`);
  }
  return change;
}

/** A stored row (or none) as the wire body, defaults filled in. */
export function toUserSettings(row: UserSettingsRow | undefined, defaultTransport: Transport): UserSettings {
  return {
    preferred_transport: row?.preferredTransport ?? defaultTransport,
    default_online_model: row?.defaultOnlineModel ?? null,
    default_local_model: row?.defaultLocalModel ?? null,
    backup_models: row?.backupModels ?? [],
    rag_archives: row?.ragArchives ?? [],
    updated_at: row?.updatedAt ?? null,
  };
}
