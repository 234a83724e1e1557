/**
 * The one place errors become responses: the OpenAI shape on every path
 * (`{error: {message, type, param, code}}`) except the Anthropic Messages
 * routes, which answer in Anthropic's (`{type: "error", error: {type,
 * message}}`, surfaces/anthropic-messages/anthropic-error.ts), secrets scrubbed from every string
 * field (a caller may put a secret in a field name or a path and would get it
 * straight back in `param` or the 404's message), no stack traces, the retry
 * hint where the client should wait (functions/http/retry-hint.ts), the
 * `x-agent-*` headers of whatever the agent tried, and the 404 and 405 of the
 * router in the same shape.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { GatewayError, toGatewayError, type OpenAIErrorBody } from '../../protocol/gateway-error.ts';
import { agentHeaders } from './agent-headers.ts';
import { retryHintHeaders } from './retry-hint.ts';
import { scrubSecrets } from '../providers/shared/scrub-secrets.ts';
import { anthropicErrorBody, anthropicErrorStatus } from '../surfaces/anthropic-messages/anthropic-error.ts';
import { CONFIG_ERROR_CODE, isConfigError, secretValues, type Env } from '../config.ts';

export type GatewayLogger = (line: string) => void;

/** `text` with every configured secret (also percent-encoded, as a path shows it) and anything key-shaped removed. */
export function scrubFor(env: Env | undefined): (text: string) => string {
  const secrets = env ? secretValues(env).flatMap((secret) => [secret, encodeURIComponent(secret), encodeURI(secret)]) : [];
  return (text) => scrubSecrets(text, [...new Set(secrets)]);
}

/** `error`'s OpenAI body with `scrub` applied to every string field: message, type, param and code. */
export function scrubbedErrorBody(error: GatewayError, scrub: (text: string) => string): OpenAIErrorBody {
  const { message, type, param, code } = error.toBody().error;
  return {
    error: {
      message: scrub(message),
      type: scrub(type),
      param: param === null ? null : scrub(param),
      code: code === null ? null : scrub(code),
    },
  };
}

/** Which error shape a path answers in. */
export type ErrorShape = 'openai' | 'anthropic';

/** `/v1/messages` and everything under it speak Anthropic's API, errors included. */
export function errorShapeFor(pathname: string): ErrorShape {
  return pathname === '/v1/messages' || pathname.startsWith('/v1/messages/') ? 'anthropic' : 'openai';
}

/** The response for `error`, in the path's shape. Clients never see a 499: nobody is listening. */
export function errorResponse(error: GatewayError, scrub: (text: string) => string, shape: ErrorShape = 'openai'): Response {
  const anthropic = shape === 'anthropic';
  const status = anthropic ? anthropicErrorStatus(error) : error.status;
  const body = anthropic ? anthropicErrorBody(error, scrub) : scrubbedErrorBody(error, scrub);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(error.agent ? agentHeaders(error.agent) : {}),
    ...retryHintHeaders(error.status === status ? error : error.with({ status })),
  };
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  return new Response(JSON.stringify(body), { status, headers });
}

function shapeOf(c: Context<{ Bindings: Env }>): ErrorShape {
  return errorShapeFor(new URL(c.req.url).pathname);
}

/** What a client hears about a configuration error: no variable names, the detail is in the log. */
export function serverMisconfigured(): GatewayError {
  return new GatewayError({
    status: 500,
    type: 'server_error',
    code: CONFIG_ERROR_CODE,
    message: "The gateway is misconfigured and cannot serve requests; its operator finds the details in the gateway's log.",
  });
}

/** `app.onError`: renders any thrown value; logs server-side failures, scrubbed. */
export function renderErrors(log: GatewayLogger): ErrorHandler<{ Bindings: Env }> {
  return (thrown, c) => {
    const error = toGatewayError(thrown);
    const scrub = scrubFor(c.env);
    if (isConfigError(error)) {
      log(`[gateway] ${scrub(error.message)} (answered ${c.req.method} ${new URL(c.req.url).pathname} with a generic 500)`);
      return errorResponse(serverMisconfigured(), scrub, shapeOf(c));
    }
    if (error.status >= 500 && !GatewayError.isInstance(thrown)) {
      // An unexpected exception: name it in the log, never in the response.
      const name = thrown instanceof Error ? thrown.name : typeof thrown;
      log(`[gateway] unexpected ${name} on ${c.req.method} ${new URL(c.req.url).pathname}: ${scrub(thrown instanceof Error ? thrown.message : String(thrown))}`);
    }
    return errorResponse(error, scrub, shapeOf(c));
  };
}

/** `app.notFound`: OpenAI's "Invalid URL" 404, the path echoed with secrets scrubbed. */
export const renderNotFound: NotFoundHandler<{ Bindings: Env }> = (c: Context<{ Bindings: Env }>) =>
  errorResponse(
    new GatewayError({ status: 404, type: 'invalid_request_error', code: 'unknown_url', message: `Invalid URL (${c.req.method} ${new URL(c.req.url).pathname})` }),
    scrubFor(c.env),
    shapeOf(c),
  );

/** The 405 for a method `path` does not take, with `Allow` (middleware/method-not-allowed.ts works `allowed` out). */
export function methodNotAllowedResponse(c: Context<{ Bindings: Env }>, allowed: readonly string[]): Response {
  const response = errorResponse(
    new GatewayError({
      status: 405,
      type: 'invalid_request_error',
      code: 'method_not_allowed',
      message: `Method ${c.req.method} is not allowed on ${new URL(c.req.url).pathname}; use ${allowed.join(' or ')}.`,
    }),
    scrubFor(c.env),
    shapeOf(c),
  );
  response.headers.set('allow', allowed.join(', '));
  return response;
}
