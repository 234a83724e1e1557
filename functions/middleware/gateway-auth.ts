/**
 * Bearer auth for `/v1/*`: the key must equal GATEWAY_API_KEY. The Anthropic
 * Messages routes also take it as `x-api-key`, as Anthropic's SDKs send it
 * (and Claude Code with ANTHROPIC_API_KEY); either header may carry it there. Compared in
 * constant time over SHA-256 digests of both sides, so neither the content nor
 * the length of the key leaks through timing. No key configured is a 500, never
 * an open gateway. Only GATEWAY_API_KEY is read here: the rest of the env is
 * validated after auth, so a caller without the key learns nothing about it.
 */
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { bearerToken, secretsMatch } from '../auth/bearer-token.ts';
import { configError, gatewayApiKey, type Env } from '../config.ts';

function unauthorized(message: string): GatewayError {
  return new GatewayError({ status: 401, type: 'authentication_error', code: 'invalid_api_key', message });
}

export interface GatewayKeyOptions {
  /** Paths where `x-api-key` carries the key too (the Anthropic surface). */
  acceptsXApiKey?: (pathname: string) => boolean;
}

/** Refuses every request without the gateway's key. */
export function requireGatewayKey(options: GatewayKeyOptions = {}): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = gatewayApiKey(c.env);
    if (!expected) {
      // For the log (the renderer answers a generic 500): never an open gateway.
      throw configError('GATEWAY_API_KEY', 'is not set, so every request is refused. Set it as a secret (or in .dev.vars).');
    }
    const header = c.req.header('authorization');
    const xApiKeyHere = options.acceptsXApiKey?.(new URL(c.req.url).pathname) === true;
    const apiKeyHeader = xApiKeyHere ? c.req.header('x-api-key') : undefined;
    if (!header && apiKeyHeader === undefined) {
      const how = xApiKeyHere ? " or 'x-api-key: <GATEWAY_API_KEY>'" : '';
      throw unauthorized(`You didn't provide an API key. Send it as 'Authorization: Bearer <GATEWAY_API_KEY>'${how}.`);
    }
    // Either header may carry the key; each is checked in constant time. Never echoed: it may be someone's real key.
    const candidates = [bearerToken(header), apiKeyHeader?.trim()].filter((value): value is string => value !== undefined && value !== '');
    const matches = await Promise.all(candidates.map((presented) => secretsMatch(presented, expected)));
    if (!matches.includes(true)) throw unauthorized('Incorrect API key provided.');
    await next();
  };
}
