/**
 * Bearer auth for `/v1/*`: the key must equal GATEWAY_API_KEY. Compared in
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

/** Refuses every request without the gateway's key. */
export function requireGatewayKey(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = gatewayApiKey(c.env);
    if (!expected) {
      // For the log (the renderer answers a generic 500): never an open gateway.
      throw configError('GATEWAY_API_KEY', 'is not set, so every request is refused. Set it as a secret (or in .dev.vars).');
    }
    const header = c.req.header('authorization');
    if (!header) throw unauthorized("You didn't provide an API key. Send it as 'Authorization: Bearer <GATEWAY_API_KEY>'.");
    const presented = bearerToken(header);
    // The presented value is never echoed: it may be someone's real key.
    if (!presented || !(await secretsMatch(presented, expected))) throw unauthorized('Incorrect API key provided.');
    await next();
  };
}
