/**
 * What the settings suites in workerd share: the settings sub-app mounted the
 * way the gateway mounts it (at /v1/settings, errors rendered by the app's
 * onError as the OpenAI shape), an env pointing at the test sqld, a clock the
 * test moves, and a direct drizzle handle to look at the rows themselves.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { inject } from 'vitest';
import { toGatewayError } from '../../protocol/gateway-error.ts';
import type { Env } from '../../functions/config.ts';
import { methodNotAllowed } from '../../functions/middleware/method-not-allowed.ts';
import { createSettingsRoutes } from '../../functions/routes/settings.ts';
import { createDatabase } from '../../db/client.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';

export const sqldUrl = inject('sqldUrl');

/** The workerd env with TURSO_DATABASE_URL set to the test sqld. */
export function settingsEnv(overrides: Partial<Omit<Env, 'BRIDGE_TUNNEL'>> = {}): Env {
  // The cast: tests/workers/cloudflare-env.d.ts does not yet make `env` carry our Env type for tsc.
  return { ...(env as unknown as Env), TURSO_DATABASE_URL: sqldUrl, TURSO_AUTH_TOKEN: '', ...overrides };
}

/** A clock that only moves when the test moves it. */
export function testClock(startIso = '2026-11-24T04:30:00.000Z'): { now: () => number; advance: (ms: number) => void; iso: () => string } {
  let current = Date.parse(startIso);
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    iso: () => new Date(current).toISOString(),
  };
}

/** The settings routes under /v1/settings with the app's 405 and error rendering. */
export function settingsApp(now: () => number, sleep: RuntimeDeps['sleep'] = defaultRuntimeDeps.sleep): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use('*', methodNotAllowed(app));
  app.route('/v1/settings', createSettingsRoutes({ now, sleep, random: defaultRuntimeDeps.random }));
  app.onError((error, c) => {
    const gatewayError = toGatewayError(error);
    return c.json(gatewayError.toBody(), gatewayError.status as ContentfulStatusCode);
  });
  return app;
}

/** A drizzle handle on the test database, bypassing the service. */
export const testDatabase = createDatabase({ url: sqldUrl, authToken: undefined }).db;

/** A JSON request init. */
export function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
