/**
 * Reliability: sentinel secrets (`sk-SENTINEL-<uuid>` in every key and token)
 * never appear in a response body, a header or a log line, on every error path
 * a caller or a provider can reach: bad keys, providers that echo the key,
 * validation errors carrying a secret, the bridge's door, the database down.
 * Figures: `secrets`.
 */
import { describe, expect, it } from 'vitest';
import { within } from './reliability-report.ts';
import { reliabilitySuite, SETTLE_BOUND_MS } from './reliability-stack.ts';
import { settingsWrite } from './reliability-settings.ts';
import { findSecrets, sentinel } from './stack-secrets.ts';

const suite = reliabilitySuite('secrets');
const { figures, secrets } = suite;

describe('sentinel secrets', () => {
  it('never appear in a response body, a header or a log line, on every error path', { timeout: 90_000 }, async () => {
    const database = suite.stack.database;
    if (!database) throw new Error('the suite needs the database');
    // No stored backups: each error path must end in its own error, not in a backup's answer.
    await suite.stack.api('/v1/settings', { method: 'DELETE' });
    const presented = [sentinel(), sentinel()];
    const searched = [...suite.stack.secretList(), ...presented];
    const responses: Array<{ path: string; status: number; text: string; sent: string }> = [];
    const check = async (path: string, init: RequestInit = {}, withKey = true): Promise<number> => {
      const response = withKey ? await suite.stack.api(path, init) : await fetch(`${suite.stack.url}${path}`, init);
      const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
      const sent = `${path}\n${JSON.stringify(init.headers ?? {})}\n${typeof init.body === 'string' ? init.body : ''}`;
      responses.push({ path, status: response.status, text: `${headers}\n\n${await response.text()}`, sent });
      return response.status;
    };
    const chat = (body: Record<string, unknown>): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });
    const hello = [{ role: 'user', content: 'hi' }];

    // The caller's key: missing, wrong (a sentinel of its own), in the wrong scheme.
    expect(await check('/v1/models', {}, false)).toBe(401);
    expect(await check('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${presented[0]}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'openai/gpt-4o', messages: hello }) }, false)).toBe(401);
    expect(await check('/v1/settings', { headers: { authorization: `Basic ${presented[1]}` } }, false)).toBe(401);

    // Providers that echo the key they were sent, in a 401 and in a 500, streamed and not.
    const echoes = {
      openai: { key: secrets.OPENAI_API_KEY, model: 'openai/gpt-4o-mini' },
      anthropic: { key: secrets.ANTHROPIC_API_KEY, model: 'anthropic/claude-sonnet-4-5' },
      groq: { key: secrets.GROQ_API_KEY, model: 'groq/llama-3.1-8b-instant' },
    } as const;
    for (const [provider, { key, model }] of Object.entries(echoes) as Array<[keyof typeof echoes, (typeof echoes)[keyof typeof echoes]]>) {
      const mock = suite.stack.mocks.providers[provider];
      mock.reset();
      const echoBody = (status: number): unknown =>
        provider === 'anthropic'
          ? { type: 'error', error: { type: status === 401 ? 'authentication_error' : 'api_error', message: `invalid x-api-key: ${key}` } }
          : { error: { message: `Incorrect API key provided: ${key}. Authorization: Bearer ${key}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
      for (const stream of [false, true]) {
        mock.script([{ kind: 'status', status: 401, body: echoBody(401) }]);
        expect(await check('/v1/chat/completions', chat({ model, messages: hello, stream }))).toBeGreaterThanOrEqual(400);
        mock.setDefault({ kind: 'status', status: 500, body: echoBody(500) });
        expect(await check('/v1/chat/completions', chat({ model: `${model}-${stream ? 's' : 'j'}`, messages: hello, stream }))).toBeGreaterThanOrEqual(500);
        mock.reset();
      }
    }

    // Validation errors that carry a secret in the very field they reject.
    expect(await check('/v1/chat/completions', chat({ model: secrets.OPENAI_API_KEY, messages: hello }))).toBe(404);
    expect(await check('/v1/chat/completions', chat({ model: 'openai/gpt-4o', messages: hello, fallback_models: [secrets.GROQ_API_KEY] }))).toBe(400);
    expect(await check('/v1/chat/completions', chat({ model: 'openai/gpt-4o', messages: [] }))).toBe(400);
    expect(await check('/v1/chat/completions', { method: 'POST', body: `{"model": "${secrets.XAI_API_KEY}", ` })).toBe(400);
    expect(await check('/v1/settings', { method: 'PATCH', body: JSON.stringify({ default_online_model: secrets.ANTHROPIC_API_KEY }) })).toBe(400);
    expect(await check('/v1/settings', { method: 'PATCH', body: JSON.stringify({ [secrets.TURSO_AUTH_TOKEN]: 1 }) })).toBe(400);
    expect(await check(`/v1/${secrets.BRIDGE_TOKEN}`)).toBe(404);

    // The bridge's door: a wrong token, the right token in the query string, and a real bridge with a wrong token.
    // (fetch cannot send `Upgrade`; the route checks the credentials before it looks for one.)
    expect(await check('/bridge/connect', { headers: { authorization: `Bearer ${presented[0]}` } }, false)).toBe(401);
    expect(await check(`/bridge/connect?token=${secrets.BRIDGE_TOKEN}`, {}, false)).toBe(400);
    // The real engine: this bridge is refused at the door and never loads a model.
    const refused = await suite.stack.startBridge('mlx', { token: presented[1], waitConnected: false, engine: 'real' });
    await refused.waitForOutput('refused the token', SETTLE_BOUND_MS);
    expect(await within(refused.exited, SETTLE_BOUND_MS)).toMatchObject({ settled: true, value: 1 });

    // The database down: settings fail loudly, completions carry on with the env defaults.
    await database.kill();
    try {
      expect(await check('/v1/settings')).toBeGreaterThanOrEqual(500);
      expect(await check('/v1/settings', { method: 'PUT', body: JSON.stringify(settingsWrite('down', 0).body) })).toBeGreaterThanOrEqual(500);
      expect(await check('/v1/settings', { method: 'DELETE' })).toBeGreaterThanOrEqual(500);
      expect(await check('/v1/chat/completions', chat({ model: 'openai/gpt-4o-mini', messages: hello }))).toBe(200);
    } finally {
      await database.start();
    }
    expect(await check('/v1/settings')).toBe(200);

    // What leaked, with the secret masked, so the failure says where without repeating it.
    // A secret the caller itself put in that very request and got back is "reflected": no
    // disclosure, but still wrong in a response (a configured secret must never come back), and
    // counted apart from wrangler's own access log, which prints whatever path a caller chose.
    // Anything else is a leak.
    const mask = (text: string): string => searched.reduce((masked, secret) => masked.replaceAll(secret, '<SECRET>'), text);
    const sentSecrets = new Set(responses.flatMap((response) => findSecrets(response.sent, searched)));
    let reflected = 0;
    const reflectedIn: string[] = [];
    const leakedIn: string[] = [];
    for (const response of responses) {
      const found = findSecrets(response.text, searched);
      if (found.length === 0) continue;
      const body = mask(response.text.split('\n\n').at(-1) ?? '');
      if (found.every((secret) => response.sent.includes(secret))) {
        reflected += 1;
        reflectedIn.push(`${response.path.replaceAll(/sk-SENTINEL-[0-9a-f-]+/g, '<SECRET>')}: ${body}`);
      } else leakedIn.push(body);
    }
    const logs = suite.stack.logs();
    const leakedLines: string[] = [];
    for (const line of logs.split('\n')) {
      const found = findSecrets(line, searched);
      if (found.length === 0) continue;
      // wrangler's own dev-server access log prints the URL path a caller chose: not the Worker's output.
      if (line.startsWith('[wrangler:') && found.every((secret) => sentSecrets.has(secret))) reflected += 1;
      else leakedLines.push(mask(line));
    }
    figures.secrets = { responsesChecked: responses.length, logsChecked: suite.stack.logSources(), leaks: leakedIn.length + leakedLines.length, reflected };
    expect(leakedIn).toEqual([]);
    expect(reflectedIn).toEqual([]);
    expect(leakedLines).toEqual([]);
    expect(responses.length).toBeGreaterThanOrEqual(25);
  });

  // Was a known bug: `param` and the 404's echoed path went out unscrubbed. Every string field of
  // every error body is scrubbed now (functions/http/error-response.ts; tests/workers/errors-secrets.test.ts).
  it('does not echo a configured secret the caller put in a field name or the path', async () => {
    const fieldName = await suite.stack.api('/v1/settings', { method: 'PATCH', body: JSON.stringify({ [secrets.TURSO_AUTH_TOKEN]: 1 }) });
    const path = await suite.stack.api(`/v1/${secrets.BRIDGE_TOKEN}`);
    const bodies = `${await fieldName.text()}\n${await path.text()}`;
    // Both answers echo what the caller sent (the field in `param`, the path in the 404), scrubbed.
    expect([fieldName.status, path.status]).toEqual([400, 404]);
    expect(bodies).toContain('[redacted]');
    expect(findSecrets(bodies, suite.stack.secretList())).toEqual([]);
  });
});
