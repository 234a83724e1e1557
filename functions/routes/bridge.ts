/**
 * The bridge's two routes. Mount both at the root (`app.route('/', …)`):
 * - `bridgeConnectRoutes`: `GET /bridge/connect`, the daemon's WebSocket upgrade.
 *   It has its own auth (Bearer BRIDGE_TOKEN, constant time) checked before the
 *   Durable Object is touched, and refuses any credential in the query string.
 * - `bridgeStatusRoutes`: `GET /v1/bridge`, behind the gateway's own auth.
 */
import { Hono } from 'hono';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { DEFAULT_USER_ID, getConfig, type Env } from '../config.ts';
import { bearerToken, secretsMatch } from '../auth/bearer-token.ts';
import { queryCarriesCredential } from '../tunnel/bridge-token.ts';
import { TUNNEL_URLS, tunnelStub } from '../tunnel/tunnel-endpoints.ts';
import { getBridgeStatus } from '../tunnel/tunnel-model.ts';

const unauthorized = (message: string): GatewayError =>
  new GatewayError({ status: 401, type: 'authentication_error', code: 'invalid_bridge_token', message });

export const bridgeConnectRoutes = new Hono<{ Bindings: Env }>();

bridgeConnectRoutes.get('/bridge/connect', async (c) => {
  if (queryCarriesCredential(new URL(c.req.url))) {
    throw new GatewayError({
      status: 400,
      type: 'invalid_request_error',
      code: 'token_in_query',
      message: 'Credentials are not accepted in the URL; send the bridge token as Authorization: Bearer <token>',
    });
  }
  const expected = getConfig(c.env).bridgeToken;
  if (!expected) throw unauthorized('Bridge connections are disabled: BRIDGE_TOKEN is not set on the gateway');
  const presented = bearerToken(c.req.header('authorization'));
  if (!presented || !(await secretsMatch(presented, expected))) {
    throw unauthorized('Missing or invalid bridge token');
  }
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new GatewayError({ status: 426, type: 'invalid_request_error', message: 'Expected a WebSocket upgrade' });
  }
  // The object needs the upgrade, not the credential.
  const headers = new Headers(c.req.raw.headers);
  headers.delete('authorization');
  return tunnelStub(c.env, DEFAULT_USER_ID).fetch(TUNNEL_URLS.connect, { headers });
});

export const bridgeStatusRoutes = new Hono<{ Bindings: Env }>();

bridgeStatusRoutes.get('/v1/bridge', async (c) => c.json(await getBridgeStatus(c.env, DEFAULT_USER_ID)));
