/**
 * /v1/settings in workerd against a real sqld (tests/workers/setup-sqld.ts).
 * Every test here works on the default user's row, so the file runs its tests
 * in order and starts each one from "never saved".
 */
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../../functions/config.ts';
import { userSettings } from '../../db/schema.ts';
import { badValues } from '../unit/db/bad-settings.ts';
import { json, settingsApp, settingsEnv, testClock, testDatabase } from './settings-harness.ts';

const full = {
  preferred_transport: 'local',
  default_online_model: 'anthropic/claude-sonnet-4-5',
  default_local_model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit',
  backup_models: ['groq/llama-3.3-70b-versatile', 'openai/gpt-4o-mini'],
  rag_archives: ['notes-2026', 'papers'],
};

const defaults = {
  preferred_transport: 'online',
  default_online_model: null,
  default_local_model: null,
  backup_models: [],
  rag_archives: [],
  updated_at: null,
};

let clock = testClock();
let app = settingsApp(clock.now);
const environment = settingsEnv();

async function call(path: string, init?: RequestInit, env = environment): Promise<Response> {
  return app.request(path, init, env);
}

async function current(): Promise<unknown> {
  const response = await call('/v1/settings');
  expect(response.status).toBe(200);
  return response.json();
}

async function storedRow() {
  const rows = await testDatabase.select().from(userSettings).where(eq(userSettings.userId, DEFAULT_USER_ID));
  return rows[0];
}

beforeEach(async () => {
  clock = testClock();
  app = settingsApp(clock.now);
  await testDatabase.delete(userSettings).where(eq(userSettings.userId, DEFAULT_USER_ID));
});

describe('reading and writing the settings', () => {
  it('shows the defaults before the user ever saved anything', async () => {
    expect(await current()).toEqual(defaults);
  });

  it('follows AGENT_DEFAULT_TRANSPORT for the transport until the user chooses one', async () => {
    const response = await call('/v1/settings', undefined, settingsEnv({ AGENT_DEFAULT_TRANSPORT: 'local' }));
    expect(await response.json()).toMatchObject({ preferred_transport: 'local' });
  });

  it('stores a PUT and answers with it, updated_at set by the server', async () => {
    const response = await call('/v1/settings', json('PUT', { ...full, updated_at: '1999-01-01T00:00:00.000Z' }));
    expect(response.status).toBe(200);
    const expected = { ...full, updated_at: '2026-11-24T04:30:00.000Z' };
    expect(await response.json()).toEqual(expected);
    expect(await current()).toEqual(expected);
  });

  it('replaces every field on a second PUT, keeping when the row was created', async () => {
    await call('/v1/settings', json('PUT', full));
    clock.advance(61_000);
    const replacement = { ...full, preferred_transport: 'online', default_local_model: null, backup_models: [], rag_archives: ['only-this'] };
    const response = await call('/v1/settings', json('PUT', replacement));
    expect(await response.json()).toEqual({ ...replacement, updated_at: '2026-11-24T04:31:01.000Z' });
    expect(await storedRow()).toMatchObject({ createdAt: '2026-11-24T04:30:00.000Z', updatedAt: '2026-11-24T04:31:01.000Z' });
  });

  it('leaves five identical PUTs in the same state as one', async () => {
    for (let round = 0; round < 5; round++) await call('/v1/settings', json('PUT', full));
    expect(await current()).toEqual({ ...full, updated_at: '2026-11-24T04:30:00.000Z' });
    expect(await testDatabase.$count(userSettings, eq(userSettings.userId, DEFAULT_USER_ID))).toBe(1);
  });

  it('changes only the fields a PATCH names', async () => {
    await call('/v1/settings', json('PUT', full));
    clock.advance(1_500);
    const response = await call('/v1/settings', json('PATCH', { backup_models: ['xai/grok-4'], default_online_model: null }));
    expect(response.status).toBe(200);
    const expected = { ...full, backup_models: ['xai/grok-4'], default_online_model: null, updated_at: '2026-11-24T04:30:01.500Z' };
    expect(await response.json()).toEqual(expected);
    expect(await current()).toEqual(expected);
  });

  it('creates the row on a first PATCH, with defaults for the other fields', async () => {
    const response = await call('/v1/settings', json('PATCH', { default_local_model: 'local/qwen3-8b' }));
    expect(await response.json()).toEqual({ ...defaults, default_local_model: 'local/qwen3-8b', updated_at: '2026-11-24T04:30:00.000Z' });
    // The transport was never chosen, so it keeps following the env default.
    expect((await storedRow())?.preferredTransport).toBeNull();
  });

  it('goes back to the defaults on DELETE, and stays there', async () => {
    await call('/v1/settings', json('PUT', full));
    const response = await call('/v1/settings', { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(defaults);
    expect(await storedRow()).toBeUndefined();
    expect(await current()).toEqual(defaults);
    expect((await call('/v1/settings', { method: 'DELETE' })).status).toBe(200);
  });
});

describe('bad input writes nothing', () => {
  beforeEach(async () => {
    await call('/v1/settings', json('PUT', full));
  });

  it.each(badValues)('PUT with %s = %j is a 400 naming %s', async (field, value, param) => {
    const before = await current();
    const response = await call('/v1/settings', json('PUT', { ...full, [field]: value }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param, code: null } });
    expect(await current()).toEqual(before);
  });

  it.each(badValues)('PATCH with %s = %j is a 400 naming %s', async (field, value, param) => {
    const before = await current();
    const response = await call('/v1/settings', json('PATCH', { preferred_transport: 'online', [field]: value }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param);
    expect(await current()).toEqual(before);
  });

  it.each(Object.keys(full))('PUT without %s is a 400 naming it', async (field) => {
    const body: Record<string, unknown> = { ...full };
    delete body[field];
    const response = await call('/v1/settings', json('PUT', body));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe(field);
  });

  it('an unknown field is a 400 naming it', async () => {
    const response = await call('/v1/settings', json('PATCH', { preferred_transport: 'online', favourite_colour: 'teal' }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('favourite_colour');
    expect(await current()).toMatchObject({ preferred_transport: 'local' });
  });

  it('malformed JSON, an empty PATCH and a non-object body are 400s', async () => {
    const before = await current();
    for (const body of ['{"preferred_transport":', '{}', '[]', '"local"']) {
      const response = await call('/v1/settings', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body });
      expect(response.status, body).toBe(400);
    }
    expect(await current()).toEqual(before);
  });

  it('a body over the limit is a 413', async () => {
    const response = await call('/v1/settings', json('PUT', { ...full, rag_archives: ['x'.repeat(300 * 1024)] }));
    expect(response.status).toBe(413);
  });

  it('a chunked body is refused with 413 as soon as it passes the limit, without waiting for its end', async () => {
    const before = await current();
    // 300 KiB, and then the client never finishes: only counting as it streams can answer.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const piece = new TextEncoder().encode('x'.repeat(30 * 1024));
        controller.enqueue(new TextEncoder().encode('{"rag_archives": ["'));
        for (let index = 0; index < 10; index++) controller.enqueue(piece);
      },
    });
    const response = await call('/v1/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'request_too_large' } });
    expect(await current()).toEqual(before);
  });

  it('a body sent without a JSON content type is a 400 saying so', async () => {
    const response = await call('/v1/settings', { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: '{"preferred_transport":"online"}' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'unsupported_content_type' } });
  });

  it('POST is a 405 in the OpenAI error shape, with Allow naming the methods that work', async () => {
    const response = await call('/v1/settings', json('POST', full));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, PUT, PATCH, DELETE');
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'method_not_allowed' } });
  });
});

describe('hostile strings', () => {
  const verbatim = [
    `"double" and 'single' quotes`,
    `'; DROP TABLE user_settings; --`,
    `x"); DELETE FROM __drizzle_migrations; --`,
    '😀 emoji 👩‍👩‍👧 and 中文 and ‮right-to-left',
    '\\ backslash \\u0000 written out',
  ];

  it('come back verbatim from PUT and PATCH, leaving the table and its other rows alone', async () => {
    const bystander = 'bystander-for-hostile-strings';
    await testDatabase
      .insert(userSettings)
      .values({ userId: bystander, ragArchives: ['untouched'], createdAt: clock.iso(), updatedAt: clock.iso() })
      .onConflictDoUpdate({ target: userSettings.userId, set: { ragArchives: ['untouched'] } });
    const bystanderBefore = await testDatabase.select().from(userSettings).where(eq(userSettings.userId, bystander));

    const put = await call('/v1/settings', json('PUT', { ...full, rag_archives: verbatim }));
    expect(put.status).toBe(200);
    expect(((await current()) as { rag_archives: string[] }).rag_archives).toEqual(verbatim);
    for (const hostile of verbatim) {
      const patch = await call('/v1/settings', json('PATCH', { rag_archives: [hostile] }));
      expect(patch.status).toBe(200);
      expect(((await current()) as { rag_archives: string[] }).rag_archives).toEqual([hostile]);
    }

    expect(await testDatabase.select().from(userSettings).where(eq(userSettings.userId, bystander))).toEqual(bystanderBefore);
    await testDatabase.delete(userSettings).where(eq(userSettings.userId, bystander));
  });

  it.each([
    ['a NUL byte in an archive', { rag_archives: ['before\u0000after'] }, 'rag_archives[0]'],
    ['a 64 KiB archive name', { rag_archives: ['x'.repeat(64 * 1024)] }, 'rag_archives[0]'],
    ['a 64 KiB model name', { default_online_model: `openai/${'x'.repeat(64 * 1024)}` }, 'default_online_model'],
    ['SQL in a model name', { default_online_model: "openai/gpt-4o'; DROP TABLE user_settings; --" }, 'default_online_model'],
    ['a NUL byte in a model name', { backup_models: ['openai/gpt\u00004o'] }, 'backup_models[0]'],
  ])('refuses %s with a 400 and changes nothing', async (_name, patch, param) => {
    await call('/v1/settings', json('PUT', full));
    const before = await current();
    const response = await call('/v1/settings', json('PATCH', patch));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param);
    expect(await current()).toEqual(before);
  });
});

describe('concurrent writers', () => {
  it('lands every one of 20 concurrent PATCHes of different fields', async () => {
    // Four rounds of one PATCH per field, all five at once. A read-modify-write
    // would let one PATCH put back the value another had just replaced: start
    // each round from values no PATCH sends, so any lost update shows.
    let sent = 0;
    for (let round = 0; round < 4; round++) {
      await call('/v1/settings', json('PUT', { ...full, preferred_transport: round % 2 === 0 ? 'online' : 'local', rag_archives: ['initial'] }));
      const patches = [
        { preferred_transport: round % 2 === 0 ? 'local' : 'online' },
        { default_online_model: `openai/r${round}` },
        { default_local_model: `local/r${round}` },
        { backup_models: [`groq/r${round}`] },
        { rag_archives: [`r${round}`] },
      ];
      const responses = await Promise.all(patches.map((patch) => call('/v1/settings', json('PATCH', patch))));
      sent += patches.length;
      expect(responses.map((response) => response.status)).toEqual(Array(5).fill(200));
      expect(await current()).toMatchObject(Object.assign({}, ...patches));
    }
    expect(sent).toBe(20);
  });
});

describe('when the database is not there', () => {
  it('answers 503 without the URL when the database is unreachable, and the GET too', async () => {
    const unreachable = settingsEnv({ TURSO_DATABASE_URL: 'http://127.0.0.1:1', TURSO_AUTH_TOKEN: 'sk-SENTINEL-turso-token' });
    for (const init of [undefined, json('PATCH', { preferred_transport: 'local' })]) {
      const response = await call('/v1/settings', init, unreachable);
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        error: { message: expect.stringContaining('unreachable'), type: 'service_unavailable', param: null, code: 'database_unavailable' },
      });
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain('SENTINEL');
    }
  });

  it('answers 503 instead of waiting when the database does not answer within the deadline', async () => {
    // A sleep that is over at once: every database request's deadline passes before sqld can answer.
    const impatient = settingsApp(clock.now, () => Promise.resolve());
    for (const init of [undefined, json('PUT', full)]) {
      const response = await impatient.request('/v1/settings', init, environment);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        error: { message: expect.stringContaining('did not answer in time'), type: 'service_unavailable', param: null, code: 'database_unavailable' },
      });
    }
  });

  it('answers 503 saying what to set when no database is configured', async () => {
    const response = await call('/v1/settings', undefined, settingsEnv({ TURSO_DATABASE_URL: '' }));
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'database_not_configured', message: expect.stringContaining('TURSO_DATABASE_URL') } });
  });
});
