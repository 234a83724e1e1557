/**
 * The settings database as a real process: drizzle/'s migrations onto an empty
 * sqld, `npm run db:migrate`, and data that outlives the sqld process.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS_FOLDER } from '../../db/apply-migrations.ts';
import { createDatabase } from '../../db/client.ts';
import { createSettingsService } from '../../functions/settings/settings-service.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { REPO_ROOT } from '../../scripts/sqld.ts';
import { startTestSqld, type TestSqld } from '../helpers/sqld.ts';

const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };

let sqld: TestSqld | undefined;
afterEach(async () => {
  await sqld?.stop();
  sqld = undefined;
});

function service(url: string) {
  return createSettingsService({ db: createDatabase({ url, authToken: undefined }).db, userId: 'default', defaultTransport: 'online', now: () => Date.parse('2026-11-24T04:30:00.000Z') });
}

async function tableNames(url: string): Promise<string[]> {
  const { db, client } = createDatabase({ url, authToken: undefined });
  const rows = await db.all<{ name: string }>(sql`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`);
  client.close();
  return rows.map((row) => row.name);
}

function runNode(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function runMigrateScript(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return runNode(['scripts/migrate.ts'], { TURSO_DATABASE_URL: '', TURSO_AUTH_TOKEN: '', ...env });
}

describe('migrations', () => {
  it('in drizzle/ are in step with db/schema.ts: generating again writes nothing', async () => {
    // drizzle-kit wants an `out` relative to the working directory; .tmp/ is git-ignored.
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    const copy = mkdtempSync(join(REPO_ROOT, '.tmp', 'drizzle-'));
    try {
      cpSync(MIGRATIONS_FOLDER, copy, { recursive: true });
      const drizzleKit = join(REPO_ROOT, 'node_modules', 'drizzle-kit', 'bin.cjs');
      const result = await runNode([drizzleKit, 'generate', '--dialect', 'turso', '--schema', './db/schema.ts', '--out', `./${relative(REPO_ROOT, copy)}`]);
      expect(result.output).toContain('No schema changes');
      expect(readdirSync(copy).sort()).toEqual(readdirSync(MIGRATIONS_FOLDER).sort());
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('build the schema on an empty database, once', async () => {
    sqld = await startTestSqld();
    expect(await tableNames(sqld.url)).not.toContain('user_settings');
    const unmigrated = await service(sqld.url).get().catch((error: unknown) => error);
    expect(GatewayError.isInstance(unmigrated) && unmigrated.code).toBe('database_not_migrated');

    expect(await applyMigrations({ url: sqld.url, authToken: undefined })).toEqual({ applied: journal.entries.length, total: journal.entries.length });
    expect(await tableNames(sqld.url)).toEqual(expect.arrayContaining(['__drizzle_migrations', 'user_settings']));
    expect(await service(sqld.url).get()).toMatchObject({ preferred_transport: 'online', updated_at: null });

    expect(await applyMigrations({ url: sqld.url, authToken: undefined })).toEqual({ applied: 0, total: journal.entries.length });
  });

  it('enforce the transport and JSON-array constraints in the database itself', async () => {
    sqld = await startTestSqld({ migrate: true });
    const { db, client } = createDatabase({ url: sqld.url, authToken: undefined });
    const insert = (transport: string, backups: string) =>
      db.run(sql`INSERT INTO user_settings (user_id, preferred_transport, backup_models, created_at, updated_at) VALUES ('x', ${transport}, ${backups}, 'now', 'now')`);
    await expect(insert('carrier-pigeon', '[]')).rejects.toThrow();
    await expect(insert('local', '{"not":"an array"}')).rejects.toThrow();
    await expect(insert('local', '[')).rejects.toThrow();
    await insert('local', '["openai/gpt-4o"]');
    client.close();
  });

  it('`npm run db:migrate` applies them to TURSO_DATABASE_URL and says so', async () => {
    sqld = await startTestSqld();
    const first = await runMigrateScript({ TURSO_DATABASE_URL: sqld.url });
    expect(first.code).toBe(0);
    expect(first.output).toContain(`applied ${journal.entries.length} migration(s)`);
    const second = await runMigrateScript({ TURSO_DATABASE_URL: sqld.url });
    expect(second.output).toContain('up to date');
  });

  it('`npm run db:migrate` against no database exits non-zero without printing the token', async () => {
    const result = await runMigrateScript({ TURSO_DATABASE_URL: 'http://127.0.0.1:1/?authToken=sk-SENTINEL-query', TURSO_AUTH_TOKEN: 'sk-SENTINEL-header' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('Could not reach the database');
    expect(result.output).not.toContain('SENTINEL');
  });
});

describe('persistence', () => {
  it('keeps the settings when the sqld process is restarted', async () => {
    sqld = await startTestSqld({ migrate: true });
    const saved = await service(sqld.url).replace({
      preferred_transport: 'local',
      default_online_model: 'anthropic/claude-sonnet-4-5',
      default_local_model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit',
      backup_models: ['groq/llama-3.3-70b-versatile'],
      rag_archives: ['🦙 notes', `it's "here"`],
    });
    const firstProcess = sqld.server;
    await sqld.restart();
    expect(firstProcess.child.exitCode ?? firstProcess.child.signalCode).not.toBeNull();
    expect(sqld.server.child.pid).not.toBe(firstProcess.child.pid);
    expect(await service(sqld.url).get()).toEqual(saved);
  });
});
