/**
 * 405 for a path that has routes but none for the request's method. Hono's own
 * middleware works the allowed methods out from the routes the app has
 * registered (sub-apps mounted with `app.route` included), so no list is kept
 * by hand beside the routes; this wraps it only to answer in the gateway's
 * error shape (OpenAI's, Anthropic's on /v1/messages) with `Allow`.
 * A GET route answers HEAD too (Hono serves HEAD with the GET handler), so
 * `Allow` names both.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { methodNotAllowed as honoMethodNotAllowed } from 'hono/method-not-allowed';
import type { Env } from '../config.ts';
import { methodNotAllowedResponse } from '../http/error-response.ts';

/** `app.use('*', methodNotAllowed(app))`, after the request log (so it logs the 405) and before the routes. */
export function methodNotAllowed(app: Hono<{ Bindings: Env }>): MiddlewareHandler<{ Bindings: Env }> {
  return honoMethodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedResponse });
}
