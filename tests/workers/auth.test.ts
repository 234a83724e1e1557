import { beforeEach, describe, expect, it } from 'vitest';
import { GATEWAY_KEY, hello, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('auth');
let gateway: TestGateway;

beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

function post(authorization: string | undefined): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers['authorization'] = authorization;
  return { method: 'POST', headers, body: JSON.stringify({ model: 'openai/gpt-4o', messages: hello }) };
}

describe('gateway key', () => {
  const refused: Array<[string, string | undefined]> = [
    ['no Authorization header', undefined],
    ['a wrong key of the same length', `Bearer ${'x'.repeat(GATEWAY_KEY.length)}`],
    ['a wrong key of another length', 'Bearer nope'],
    ['the right key without the Bearer scheme', GATEWAY_KEY],
    ['the right key with another scheme', `Basic ${GATEWAY_KEY}`],
    ['an empty bearer', 'Bearer '],
  ];
  for (const [what, authorization] of refused) {
    it(`refuses ${what} with 401 in the OpenAI shape, and calls no provider`, async () => {
      const response = await gateway.fetch('/v1/chat/completions', post(authorization));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      const body = (await response.json()) as { error: { message: string; type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key', param: null });
      if (authorization) expect(body.error.message).not.toContain(authorization.replace(/^\w+ /, '') || '\u0000');
      expect(await mocks.openai.calls()).toHaveLength(0);
    });
  }

  it('accepts the right key, whatever the case of the scheme', async () => {
    const response = await gateway.fetch('/v1/chat/completions', post(`bearer ${GATEWAY_KEY}`));
    expect(response.status).toBe(200);
  });

  it('guards every /v1 route, including unknown ones', async () => {
    expect((await gateway.fetch('/v1/models')).status).toBe(401);
    expect((await gateway.fetch('/v1/nothing-here')).status).toBe(401);
  });

  it('is never open: with GATEWAY_API_KEY unset every /v1 request is a generic 500, and the log says which variable', async () => {
    const response = await gateway.fetch('/v1/chat/completions', post(`Bearer ${GATEWAY_KEY}`), { GATEWAY_API_KEY: undefined });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('invalid_configuration');
    expect(body.error.message).toContain('misconfigured');
    expect(body.error.message).not.toContain('GATEWAY_API_KEY');
    expect(gateway.logs.some((line) => line.includes('GATEWAY_API_KEY is not set'))).toBe(true);
    expect(await mocks.openai.calls()).toHaveLength(0);
  });

  it('checks the key before the rest of the env: a caller without it hears 401, not which variable is wrong', async () => {
    const response = await gateway.fetch('/v1/chat/completions', post('Bearer nope'), { AGENT_ONLINE_ENDPOINTS: '{not json' });
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain('AGENT_ONLINE_ENDPOINTS');
  });

  it('leaves /health open', async () => {
    expect((await gateway.fetch('/health')).status).toBe(200);
  });
});
