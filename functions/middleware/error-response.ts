/**
 * The one place errors become responses: the OpenAI shape on every path
 * (`{error: {message, type, param, code}}`), secrets scrubbed from the message,
 * no stack traces, Retry-After where the client should wait, and the 404 and
 * 405 of the router in the same shape.
 */
import type { Context, ErrorHandler, Handler, NotFoundHandler } from 'hono';
import { GatewayError, toGatewayError } from '../../protocol/gateway-error.ts';
import { scrubSecrets } from '../providers/shared/scrub-secrets.ts';
import { secretValues, type Env } from '../config.ts';

export type GatewayLogger = (line: string) => void;

/** `text` with every configured secret and anything key-shaped removed. */
export function scrubFor(env: Env | undefined): (text: string) => string {
  const secrets = env ? secretValues(env) : [];
  return (text) => scrubSecrets(text, secrets);
}

/** The response for `error`. Clients never see a 499: nobody is listening. */
export function errorResponse(error: GatewayError, scrub: (text: string) => string): Response {
  const body = error.toBody();
  body.error.message = scrub(body.error.message);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (error.retryAfterMs !== undefined) {
    // Retry-After in seconds as HTTP says, and retry-after-ms as the OpenAI SDKs read it.
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.max(0, Math.round(error.retryAfterMs)));
  }
  if (error.status === 401) headers['www-authenticate'] = 'Bearer';
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/** `app.onError`: renders any thrown value; logs server-side failures, scrubbed. */
export function renderErrors(log: GatewayLogger): ErrorHandler<{ Bindings: Env }> {
  return (thrown, c) => {
    const error = toGatewayError(thrown);
    const scrub = scrubFor(c.env);
    if (error.status >= 500 && !GatewayError.isInstance(thrown)) {
      // An unexpected exception: name it in the log, never in the response.
      const name = thrown instanceof Error ? thrown.name : typeof thrown;
      log(`[gateway] unexpected ${name} on ${c.req.method} ${new URL(c.req.url).pathname}: ${scrub(thrown instanceof Error ? thrown.message : String(thrown))}`);
    }
    return errorResponse(error, scrub);
  };
}

/** `app.notFound`: OpenAI's "Invalid URL" 404. */
export const renderNotFound: NotFoundHandler<{ Bindings: Env }> = (c: Context<{ Bindings: Env }>) =>
  errorResponse(
    new GatewayError({ status: 404, type: 'invalid_request_error', code: 'unknown_url', message: `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})` }),
    (text) => text,
  );

/** A handler for the methods a path does not accept: 405 with `Allow`. */
export function methodNotAllowed(allowed: readonly string[]): Handler<{ Bindings: Env }> {
  return (c) => {
    const response = errorResponse(
      new GatewayError({
        status: 405,
        type: 'invalid_request_error',
        code: 'method_not_allowed',
        message: `Method ${c.req.method} is not allowed on ${new URL(c.req.url).pathname}; use ${allowed.join(' or ')}.`,
      }),
      (text) => text,
    );
    response.headers.set('allow', allowed.join(', '));
    return response;
  };
}
