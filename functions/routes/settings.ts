/**
 * `/v1/settings`: the default user's settings. A Hono sub-app handling its own
 * root; the app mounts it behind the auth middleware, and errors are thrown as
 * GatewayError for the app's `onError` to render.
 *
 *   GET    → the settings, defaults filled in
 *   PUT    → replace every field (all but `updated_at` required)
 *   PATCH  → set the given fields, atomically
 *   DELETE → forget every choice; answers with the defaults
 *
 * Other methods get the app's 405 (middleware/method-not-allowed.ts).
 */
import { Hono } from 'hono';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { parseSettingsPatch, parseSettingsReplacement } from '../../db/settings-dto.ts';
import type { Env } from '../config.ts';
import { bodyLimit } from '../middleware/body-limit.ts';
import { readJsonBody } from '../http/json-body.ts';
import { settingsServiceFor } from '../settings/settings-for-env.ts';

/** A settings body is a few KiB at most; anything near this is not a settings body. */
export const SETTINGS_BODY_LIMIT_BYTES = 256 * 1024;

/** The settings sub-app with the given clock (tests pass a fixed one). */
export function createSettingsRoutes(deps: Pick<RuntimeDeps, 'now' | 'sleep' | 'random'> = defaultRuntimeDeps): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();

  routes.get('/', async (c) => c.json(await settingsServiceFor(c.env, deps).get()));

  const limit = bodyLimit(SETTINGS_BODY_LIMIT_BYTES);
  routes.put('/', limit, async (c) => {
    // Validate before touching the database: a bad body writes nothing.
    const replacement = parseSettingsReplacement(await readJsonBody(c.req.raw));
    return c.json(await settingsServiceFor(c.env, deps).replace(replacement));
  });

  routes.patch('/', limit, async (c) => {
    const change = parseSettingsPatch(await readJsonBody(c.req.raw));
    return c.json(await settingsServiceFor(c.env, deps).patch(change));
  });

  routes.delete('/', async (c) => c.json(await settingsServiceFor(c.env, deps).reset()));
  return routes;
}

/** Mounted by the app at `/v1/settings`, behind the auth middleware. */
export const settingsRoutes = createSettingsRoutes();
