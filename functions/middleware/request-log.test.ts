import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { AGENT_HEADERS } from '../../protocol/chat-response.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import type { Env } from '../config.ts';
import { renderErrors } from '../http/error-response.ts';
import { isWorthLogging, requestLog, SLOW_REQUEST_MS } from './request-log.ts';

const GATEWAY_KEY = 'gk-test-0123456789abcdef';

/** An app with the request log in front of routes that answer like the gateway does; the clock moves only when a route says so. */
function gatewayLike() {
  const lines: string[] = [];
  let clock = 1_000;
  const app = new Hono<{ Bindings: Env }>();
  app.use('*', requestLog((line) => lines.push(line), { now: () => clock }));
  const completion = (model: string, attempts: number, tookMs = 3) => {
    clock += tookMs;
    return new Response('{}', { headers: { [AGENT_HEADERS.model]: model, [AGENT_HEADERS.attempts]: String(attempts) } });
  };
  app.get('/health', () => new Response('ok'));
  app.post('/served', () => completion('openai/gpt-4o', 1));
  app.post('/fell-back', () => completion('anthropic/claude-sonnet-4-5', 4));
  app.post('/slow', () => completion('local/llama', 1, SLOW_REQUEST_MS + 1));
  app.post('/refused', () => {
    throw new GatewayError({ status: 429, type: 'rate_limit_error', code: 'rate_limited', message: `openai: slow down (key ${GATEWAY_KEY})` });
  });
  app.onError(renderErrors(() => undefined));
  const env = { GATEWAY_API_KEY: GATEWAY_KEY } as Env;
  return { lines, request: (path: string, method = 'POST') => app.request(path, { method }, env) };
}

describe('the request log', () => {
  it('writes nothing for a plain success, a health check or a completion served at the first attempt', async () => {
    const gateway = gatewayLike();
    expect((await gateway.request('/health', 'GET')).status).toBe(200);
    expect((await gateway.request('/served')).status).toBe(200);
    expect(gateway.lines).toEqual([]);
  });

  it('writes one line naming status and error for a failed request, with secrets scrubbed', async () => {
    const gateway = gatewayLike();
    expect((await gateway.request('/refused')).status).toBe(429);
    expect(gateway.lines).toHaveLength(1);
    expect(gateway.lines[0]).toMatch(/^POST \/refused 429 \d+ms error=openai: slow down/);
    expect(gateway.lines[0]).not.toContain(GATEWAY_KEY);
  });

  it('writes one line naming the serving model and the attempts when a fallback served', async () => {
    const gateway = gatewayLike();
    await gateway.request('/fell-back');
    expect(gateway.lines).toEqual(['POST /fell-back 200 3ms model=anthropic/claude-sonnet-4-5 attempts=4']);
  });

  it('writes a line marked slow for an answer that took longer than 10 s', async () => {
    expect(SLOW_REQUEST_MS).toBe(10_000);
    const gateway = gatewayLike();
    await gateway.request('/slow');
    expect(gateway.lines).toEqual([`POST /slow 200 ${SLOW_REQUEST_MS + 1}ms model=local/llama attempts=1 slow`]);
  });

  it('logs by the same rule it documents: failures, fallbacks and slow answers only', () => {
    expect(isWorthLogging({ status: 200, durationMs: 5, attempts: 1 })).toBe(false);
    expect(isWorthLogging({ status: 200, durationMs: 5, attempts: undefined })).toBe(false);
    expect(isWorthLogging({ status: 101, durationMs: 5, attempts: undefined })).toBe(false);
    expect(isWorthLogging({ status: 404, durationMs: 5, attempts: undefined })).toBe(true);
    expect(isWorthLogging({ status: 200, durationMs: 5, attempts: 2 })).toBe(true);
    expect(isWorthLogging({ status: 200, durationMs: SLOW_REQUEST_MS, attempts: 1 })).toBe(false);
    expect(isWorthLogging({ status: 200, durationMs: SLOW_REQUEST_MS + 1, attempts: 1 })).toBe(true);
  });
});
