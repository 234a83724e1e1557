/**
 * No configured secret comes back in an error body, whichever field of it the
 * caller (or an upstream) managed to put it in: `message`, `param`, `code`, or
 * the path a 404 echoes. The secrets here are the suite's own keys plus a
 * bridge token with characters a URL must escape.
 */
import { describe, expect, it } from 'vitest';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { chatInit, GATEWAY_KEY, hello, PROVIDER_KEYS, suiteMocks, testGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('errors');
const BRIDGE_TOKEN = 'bridge token/with+escapes 7c2e';
const secrets = [GATEWAY_KEY, BRIDGE_TOKEN, encodeURIComponent(BRIDGE_TOKEN), ...Object.values(PROVIDER_KEYS)];
const withKey = { headers: { authorization: `Bearer ${GATEWAY_KEY}` } };

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The error body, after checking no secret is anywhere in the raw text. */
async function errorOf(response: Response): Promise<ErrorBody['error']> {
  const text = await response.text();
  expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
  return (JSON.parse(text) as ErrorBody).error;
}

/** An upstream that answers every call with `status` and `body`, as OpenAI's API would. */
function upstreamAnswering(status: number, body: unknown): typeof fetch {
  return async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('configured secrets in error bodies', () => {
  it('a secret sent as a field name comes back scrubbed in param and message', async () => {
    const gateway = testGateway(mocks.origins);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, [PROVIDER_KEYS.GROQ_API_KEY]: 1 }), { BRIDGE_TOKEN });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toContain('[redacted]');
  });

  it('a secret in the path of an unknown route is scrubbed from the 404 message', async () => {
    const gateway = testGateway(mocks.origins);
    const response = await gateway.fetch(`/v1/${PROVIDER_KEYS.OPENAI_API_KEY}`, withKey, { BRIDGE_TOKEN });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).message).toBe('Invalid URL (GET /v1/[redacted])');
  });

  it('a secret that a path can only carry percent-encoded is scrubbed in that form too', async () => {
    const gateway = testGateway(mocks.origins);
    const response = await gateway.fetch(`/v1/${encodeURIComponent(BRIDGE_TOKEN)}`, withKey, { BRIDGE_TOKEN });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).message).toBe('Invalid URL (GET /v1/[redacted])');
  });

  it("an upstream that puts the caller's key in param and code has both scrubbed before they are passed on", async () => {
    const key = PROVIDER_KEYS.OPENAI_API_KEY;
    const gateway = testGateway(mocks.origins, {
      deps: {
        ...defaultRuntimeDeps,
        random: () => 0,
        fetch: upstreamAnswering(400, { error: { message: `Bad value for ${key}`, type: 'invalid_request_error', param: `headers.${key}`, code: `bad_key_${key}` } }),
      },
    });
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello }), { BRIDGE_TOKEN });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.param).toBe('headers.[redacted]');
  });
});
