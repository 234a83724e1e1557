/**
 * `GET /bridge/connect` and `GET /v1/bridge` as the Worker serves them. The
 * routes are mounted here on a bare app with an OpenAI-shaped error renderer,
 * the way app.ts mounts them, with a known BRIDGE_TOKEN.
 */
import { env as workerEnv } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID, type Env } from '../../functions/config.ts';
import { bridgeConnectRoutes, bridgeStatusRoutes } from '../../functions/routes/bridge.ts';
import { CONNECTION_SEQ_KEY } from '../../functions/tunnel/bridge-record.ts';
import { toGatewayError } from '../../protocol/gateway-error.ts';
import { TUNNEL_SUBPROTOCOL } from '../../protocol/tunnel-frames.ts';
import { fakeBridgeFromResponse, gatewayEnv } from '../helpers/fake-bridge.ts';

const env = gatewayEnv(workerEnv);

const TOKEN = 'bridge-token-0123456789abcdef';
const testEnv: Env = { ...env, BRIDGE_TOKEN: TOKEN };

const app = new Hono<{ Bindings: Env }>();
app.route('/', bridgeConnectRoutes);
app.route('/', bridgeStatusRoutes);
app.onError((error, c) => {
  const gatewayError = toGatewayError(error);
  return c.json(gatewayError.toBody(), gatewayError.status as 400);
});

function connect(headers: Record<string, string>, path = '/bridge/connect', bindings: Env = testEnv): Promise<Response> {
  return Promise.resolve(app.fetch(new Request(`http://gateway.test${path}`, { headers: { upgrade: 'websocket', ...headers } }), bindings));
}

/** What the default user's tunnel object has seen: open sockets and connections ever accepted. */
function tunnelState(): Promise<{ sockets: number; accepted: number }> {
  return runInDurableObject(env.BRIDGE_TUNNEL.getByName(DEFAULT_USER_ID), async (_instance, state) => ({
    sockets: state.getWebSockets().length,
    accepted: (await state.storage.get<number>(CONNECTION_SEQ_KEY)) ?? 0,
  }));
}

describe('GET /bridge/connect', () => {
  const refused: Array<[string, Record<string, string>, string, number]> = [
    ['no Authorization header', {}, '', 401],
    ['a wrong token of the same length', { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` }, '', 401],
    ['a wrong token of another length', { authorization: 'Bearer short' }, '', 401],
    ['a non-Bearer scheme', { authorization: `Basic ${TOKEN}` }, '', 401],
    ['the right token in the query string', {}, `?token=${TOKEN}`, 400],
    ['the right header plus a token in the query string', { authorization: `Bearer ${TOKEN}` }, `?access_token=${TOKEN}`, 400],
  ];

  it.each(refused)('refuses %s before the tunnel object accepts anything', async (_name, headers, query, status) => {
    const before = await tunnelState();
    const response = await connect(headers, `/bridge/connect${query}`);
    expect(response.status).toBe(status);
    expect(response.webSocket).toBeNull();
    const body = await response.json<{ error: { message: string; type: string } }>();
    expect(body.error.type).toBe(status === 401 ? 'authentication_error' : 'invalid_request_error');
    expect(JSON.stringify(body)).not.toContain(TOKEN);
    expect(await tunnelState()).toEqual(before);
  });

  it('refuses every bridge when the gateway has no BRIDGE_TOKEN', async () => {
    const response = await connect({ authorization: 'Bearer anything' }, '/bridge/connect', { ...env, BRIDGE_TOKEN: undefined });
    expect(response.status).toBe(401);
    expect((await response.json<{ error: { message: string } }>()).error.message).toContain('BRIDGE_TOKEN');
  });

  it('asks for a WebSocket upgrade when the right token comes without one', async () => {
    const response = await app.fetch(new Request('http://gateway.test/bridge/connect', { headers: { authorization: `Bearer ${TOKEN}` } }), testEnv);
    expect(response.status).toBe(426);
  });

  it('accepts the right token, echoes the subprotocol and welcomes the bridge', async () => {
    const response = await connect({ authorization: `Bearer ${TOKEN}`, 'sec-websocket-protocol': TUNNEL_SUBPROTOCOL });
    expect(response.status).toBe(101);
    expect(response.headers.get('sec-websocket-protocol')).toBe(TUNNEL_SUBPROTOCOL);
    const bridge = fakeBridgeFromResponse(response);
    const welcome = await bridge.hello([{ id: 'tiny', state: 'loaded', runner: 'mlx' }], 'my-mac');
    expect(welcome.sessionId).not.toBe('');

    const status = await app.fetch(new Request('http://gateway.test/v1/bridge'), testEnv);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({
      connected: true,
      bridge_id: 'my-mac',
      runners: ['mlx'],
      models: [{ id: 'local/tiny', runner: 'mlx', state: 'loaded', online: true }],
      in_flight: 0,
    });
    bridge.close();
    await bridge.closed;
  });
});
