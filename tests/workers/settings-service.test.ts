/**
 * The settings service and loadAgentDefaults in workerd against the real test
 * sqld. Each test uses its own user ids, so this file never touches the
 * default user's row that settings-routes.test.ts works on.
 */
import { eq, inArray } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { createDatabase } from '../../db/client.ts';
import { userSettings } from '../../db/schema.ts';
import { createSettingsService, invalidateAgentDefaults, loadAgentDefaults, AGENT_DEFAULTS_TTL_MS } from '../../functions/settings/index.ts';
import { settingsEnv, sqldUrl, testClock, testDatabase } from './settings-harness.ts';

const HOSTILE_STRINGS = [
  `it's "quoted"`,
  `'; DROP TABLE user_settings; --`,
  `Robert'); DELETE FROM user_settings WHERE ('1'='1`,
  `\\'\\"\\\\ back\\slashes`,
  '🦙 llama — ünïcödé ‮rtl‬ 你好',
  ' leading and trailing spaces ',
  '$1 ?1 :name @name %s {0}',
];

let userCounter = 0;
function newUserId(): string {
  userCounter += 1;
  return `test-user-${crypto.randomUUID()}-${userCounter}`;
}

function serviceFor(userId: string, clock = testClock()) {
  return createSettingsService({ db: createDatabase({ url: sqldUrl, authToken: undefined }).db, userId, defaultTransport: 'online', now: clock.now });
}

describe('the settings service', () => {
  it('keeps each user to their own row', async () => {
    const alice = newUserId();
    const bob = newUserId();
    await serviceFor(alice).replace({
      preferred_transport: 'local',
      default_online_model: 'openai/gpt-4o',
      default_local_model: 'local/qwen3-8b',
      backup_models: ['groq/llama-3.3-70b-versatile'],
      rag_archives: ['alice-notes'],
    });
    await serviceFor(bob).patch({ rag_archives: ['bob-notes'] });
    expect(await serviceFor(alice).get()).toMatchObject({ preferred_transport: 'local', rag_archives: ['alice-notes'] });
    expect(await serviceFor(bob).get()).toMatchObject({ preferred_transport: 'online', default_online_model: null, rag_archives: ['bob-notes'] });
    await serviceFor(bob).reset();
    expect(await serviceFor(alice).get()).toMatchObject({ rag_archives: ['alice-notes'] });
  });

  it('lands all 20 of 20 concurrent PATCHes of different fields, spread over four users', async () => {
    const users = [newUserId(), newUserId(), newUserId(), newUserId()];
    const valuesFor = (user: number) => ({
      preferred_transport: 'local' as const,
      default_online_model: `openai/model-${user}`,
      default_local_model: `local/model-${user}`,
      backup_models: [`groq/backup-${user}`],
      rag_archives: [`archive-${user}`],
    });
    // Rows that already exist, with values no PATCH sends: a lost update would leave one of them behind.
    for (const userId of users) {
      await serviceFor(userId).replace({
        preferred_transport: 'online',
        default_online_model: 'openai/initial',
        default_local_model: 'local/initial',
        backup_models: ['groq/initial'],
        rag_archives: ['initial'],
      });
    }
    const patches = users.flatMap((userId, user) =>
      Object.entries(valuesFor(user)).map(([field, value]) => serviceFor(userId).patch({ [field]: value })),
    );
    expect(patches).toHaveLength(20);
    await Promise.all(patches);
    for (const [user, userId] of users.entries()) {
      expect(await serviceFor(userId).get()).toMatchObject(valuesFor(user));
    }
  });

  it('round-trips hostile strings verbatim and leaves every other row alone', async () => {
    const bystander = newUserId();
    await serviceFor(bystander).patch({ rag_archives: ['bystander'] });
    const bystanderBefore = await testDatabase.select().from(userSettings).where(eq(userSettings.userId, bystander));

    const victim = newUserId();
    await serviceFor(victim).patch({ rag_archives: HOSTILE_STRINGS });
    expect((await serviceFor(victim).get()).rag_archives).toEqual(HOSTILE_STRINGS);
    for (const hostile of HOSTILE_STRINGS) {
      await serviceFor(victim).patch({ rag_archives: [hostile] });
      expect((await serviceFor(victim).get()).rag_archives).toEqual([hostile]);
    }

    expect(await testDatabase.select().from(userSettings).where(eq(userSettings.userId, bystander))).toEqual(bystanderBefore);
  });
});

describe('loadAgentDefaults', () => {
  let clock = testClock();
  let deps: RuntimeDeps = { ...defaultRuntimeDeps, now: clock.now };

  beforeEach(() => {
    invalidateAgentDefaults();
    clock = testClock();
    deps = { ...defaultRuntimeDeps, now: clock.now };
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is undefined when no database is configured', async () => {
    expect(await loadAgentDefaults(settingsEnv({ TURSO_DATABASE_URL: '' }), { deps })).toBeUndefined();
  });

  it('is empty for a user who chose nothing', async () => {
    expect(await loadAgentDefaults(settingsEnv(), { deps, userId: newUserId() })).toEqual({});
  });

  it('gives what the user chose, and a write in this isolate shows on the very next call', async () => {
    const userId = newUserId();
    const service = serviceFor(userId, clock);
    await service.patch({ preferred_transport: 'local', default_local_model: 'local/qwen3-8b', backup_models: ['groq/a'] });
    const env = settingsEnv();
    expect(await loadAgentDefaults(env, { deps, userId })).toEqual({
      preferred_transport: 'local',
      default_local_model: 'local/qwen3-8b',
      backup_models: ['groq/a'],
    });
    await service.patch({ preferred_transport: 'online', default_online_model: 'anthropic/claude-sonnet-4-5' });
    expect(await loadAgentDefaults(env, { deps, userId })).toMatchObject({
      preferred_transport: 'online',
      default_online_model: 'anthropic/claude-sonnet-4-5',
    });
    await service.reset();
    expect(await loadAgentDefaults(env, { deps, userId })).toEqual({});
  });

  it('sees a write from another isolate once its cached copy expires', async () => {
    const userId = newUserId();
    const env = settingsEnv();
    await serviceFor(userId).patch({ preferred_transport: 'local' });
    expect(await loadAgentDefaults(env, { deps, userId })).toEqual({ preferred_transport: 'local' });

    // Written straight to the table: nothing in this isolate hears about it.
    await testDatabase.update(userSettings).set({ preferredTransport: 'online' }).where(inArray(userSettings.userId, [userId]));
    expect(await loadAgentDefaults(env, { deps, userId })).toEqual({ preferred_transport: 'local' });
    clock.advance(AGENT_DEFAULTS_TTL_MS);
    expect(await loadAgentDefaults(env, { deps, userId })).toEqual({ preferred_transport: 'online' });
  });

  it('gives every concurrent caller the stored value, each reading for itself, and the next caller the cached copy', async () => {
    const userId = newUserId();
    const env = settingsEnv();
    await serviceFor(userId).patch({ backup_models: ['xai/grok-4'] });
    const results = await Promise.all(Array.from({ length: 10 }, () => loadAgentDefaults(env, { deps, userId })));
    expect(results).toEqual(Array(10).fill({ backup_models: ['xai/grok-4'] }));
    // Changed behind the service's back: the cached copy does not see it, a fresh read would.
    await testDatabase.update(userSettings).set({ backupModels: ['groq/other'] }).where(eq(userSettings.userId, userId));
    expect(await loadAgentDefaults(env, { deps, userId })).toEqual({ backup_models: ['xai/grok-4'] });
  });

  it('is undefined, with a log line that names no URL or token, when the database is down', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const env = settingsEnv({ TURSO_DATABASE_URL: 'http://127.0.0.1:1', TURSO_AUTH_TOKEN: 'sk-SENTINEL-turso-token' });
    expect(await loadAgentDefaults(env, { deps })).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    const logged = warn.mock.calls.flat().join(' ');
    expect(logged).toContain('database_unavailable');
    expect(logged).not.toContain('127.0.0.1');
    expect(logged).not.toContain('SENTINEL');
    // Remembered for a moment: the next completion does not wait on the dead database again.
    expect(await loadAgentDefaults(env, { deps })).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('gives up on a database that does not answer in time', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    // A sleep that is over at once: the deadline passes before any answer can arrive.
    const impatient: RuntimeDeps = { ...deps, sleep: () => Promise.resolve() };
    expect(await loadAgentDefaults(settingsEnv(), { deps: impatient, userId: newUserId() })).toBeUndefined();
  });
});
