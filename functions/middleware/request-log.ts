/**
 * A log line for the requests that tell an operator something: a failure
 * (status ≥ 400), a fallback (more than one upstream attempt), or a slow answer.
 * Plain successes are not logged: `wrangler dev` prints its own access line,
 * production has Workers Logs (`[observability]` in wrangler.toml), and under
 * `wrangler dev` every console line costs about 2 ms of the request's time.
 * A line carries method, path, status, duration and, for completions, who
 * served; never a header value or a body, and it is scrubbed of every
 * configured secret all the same.
 */
import type { MiddlewareHandler } from 'hono';
import { AGENT_HEADERS } from '../../protocol/chat-response.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { Env } from '../config.ts';
import { scrubFor, type GatewayLogger } from '../http/error-response.ts';

/** Slower than this to the response headers (for a stream: to its first token) is worth a line. */
export const SLOW_REQUEST_MS = 10_000;

export interface RequestOutcome {
  status: number;
  /** Milliseconds until the response headers were ready. */
  durationMs: number;
  /** `x-agent-attempts`: upstream calls made (completions only). */
  attempts: number | undefined;
}

/** Is this request worth a log line? Failures, fallbacks and slow answers are; plain successes are not. */
export function isWorthLogging(outcome: RequestOutcome, slowMs = SLOW_REQUEST_MS): boolean {
  return outcome.status >= 400 || (outcome.attempts !== undefined && outcome.attempts > 1) || outcome.durationMs > slowMs;
}

export interface RequestLogOptions {
  slowMs?: number;
}

/** Logs a request worth it (see isWorthLogging) once its response headers are ready. */
export function requestLog(log: GatewayLogger, deps: Pick<RuntimeDeps, 'now'>, options: RequestLogOptions = {}): MiddlewareHandler<{ Bindings: Env }> {
  const slowMs = options.slowMs ?? SLOW_REQUEST_MS;
  return async (c, next) => {
    const startedAt = deps.now();
    await next();
    const durationMs = deps.now() - startedAt;
    const headers = c.res.headers;
    const attemptsHeader = headers.get(AGENT_HEADERS.attempts);
    const attempts = attemptsHeader === null ? undefined : Number(attemptsHeader);
    if (!isWorthLogging({ status: c.res.status, durationMs, attempts }, slowMs)) return;
    // Everything below runs only for the few requests that are logged.
    const parts = [c.req.method, c.req.path, String(c.res.status), `${durationMs}ms`];
    const served = headers.get(AGENT_HEADERS.model);
    if (served) parts.push(`model=${served}`, `attempts=${attemptsHeader ?? '?'}`);
    if (durationMs > slowMs) parts.push('slow');
    if (c.error) parts.push(`error=${c.error instanceof Error ? c.error.message : 'unknown'}`);
    log(scrubFor(c.env)(parts.join(' ')));
  };
}
