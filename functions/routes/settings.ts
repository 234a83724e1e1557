/**
 * `/v1/settings`: the default user's settings. A Hono sub-app handling its own
 * root; the app mounts it behind the auth middleware, and errors are thrown as
 * GatewayError for the app's `onError` to render.
 *
 *   GET    → the settings, defaults filled in
 *   PUT    → replace every field (all but `updated_at` required)
 *   PATCH  → set the given fields, atomically
 *   DELETE → forget every choice; answers with the defaults
 */
import { Hono, type Context } from 'hono';
import { GatewayError, invalidRequest } from '../../protocol/gateway-error.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import { parseSettingsPatch, parseSettingsReplacement } from '../../db/settings-dto.ts';
import type { Env } from '../config.ts';
import { settingsServiceFor } from '../settings/settings-for-env.ts';

/** A settings body is a few KiB at most; anything near this is not a settings body. */
export const SETTINGS_BODY_LIMIT_BYTES = 256 * 1024;

type SettingsContext = Context<{ Bindings: Env }>;

function tooLarge(): GatewayError {
  return new GatewayError({
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
    message: `The settings body exceeds ${SETTINGS_BODY_LIMIT_BYTES} bytes`,
    callerFault: true,
  });
}

async function readJsonBody(c: SettingsContext): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > SETTINGS_BODY_LIMIT_BYTES) throw tooLarge();
  const text = await c.req.text();
  if (new TextEncoder().encode(text).byteLength > SETTINGS_BODY_LIMIT_BYTES) throw tooLarge();
  const parsed = safeParseJson(text);
  if (!parsed.ok) throw invalidRequest('The settings body must be valid JSON');
  return parsed.value;
}

function methodNotAllowed(): never {
  throw new GatewayError({
    status: 405,
    type: 'invalid_request_error',
    code: 'method_not_allowed',
    message: '/v1/settings supports GET, PUT, PATCH and DELETE',
    callerFault: true,
  });
}

/** The settings sub-app with the given clock (tests pass a fixed one). */
export function createSettingsRoutes(deps: Pick<RuntimeDeps, 'now'> = defaultRuntimeDeps): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();

  routes.get('/', async (c) => c.json(await settingsServiceFor(c.env, deps).get()));

  routes.put('/', async (c) => {
    // Validate before touching the database: a bad body writes nothing.
    const replacement = parseSettingsReplacement(await readJsonBody(c));
    return c.json(await settingsServiceFor(c.env, deps).replace(replacement));
  });

  routes.patch('/', async (c) => {
    const change = parseSettingsPatch(await readJsonBody(c));
    return c.json(await settingsServiceFor(c.env, deps).patch(change));
  });

  routes.delete('/', async (c) => c.json(await settingsServiceFor(c.env, deps).reset()));

  routes.all('/', methodNotAllowed);
  return routes;
}

/** Mounted by the app at `/v1/settings`, behind the auth middleware. */
export const settingsRoutes = createSettingsRoutes();
