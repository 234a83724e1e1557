/**
 * One log line per request: method, path, status, duration and, for
 * completions, who served. Never a header value or a body, and the line is
 * scrubbed of every configured secret all the same.
 */
import type { MiddlewareHandler } from 'hono';
import { AGENT_HEADERS } from '../../protocol/chat-response.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { Env } from '../config.ts';
import { scrubFor, type GatewayLogger } from './error-response.ts';

/** Logs each request once its response headers are ready. */
export function requestLog(log: GatewayLogger, deps: Pick<RuntimeDeps, 'now'>): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const startedAt = deps.now();
    await next();
    const headers = c.res.headers;
    const served = headers.get(AGENT_HEADERS.model);
    const parts = [c.req.method, new URL(c.req.url).pathname, String(c.res.status), `${deps.now() - startedAt}ms`];
    if (served) parts.push(`model=${served}`, `attempts=${headers.get(AGENT_HEADERS.attempts) ?? '?'}`);
    if (c.error) parts.push(`error=${c.error instanceof Error ? c.error.message : 'unknown'}`);
    log(scrubFor(c.env)(parts.join(' ')));
  };
}
