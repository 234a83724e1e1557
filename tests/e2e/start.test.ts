/**
 * `npm start` as a user runs it: real sqld, real migrations, real `wrangler dev`,
 * in a temporary home (GATEWAY_DEV_VARS, GATEWAY_DATA_DIR) on free ports, so the
 * developer's own .dev.vars and .data are never touched.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client.ts';
import { createSettingsService } from '../../functions/settings/settings-service.ts';
import { spawnGroup, waitForEmptyGroup, type GroupProcess } from '../../scripts/process-group.ts';
import { findFreePort, isPortFree, REPO_ROOT } from '../../scripts/sqld.ts';
import { listProcesses, stillRunning } from '../../scripts/process-tree.ts';

let home: string;
let devVarsPath: string;
let dataDir: string;
let workerPort: number;
let libsqlPort: number;

const launched: GroupProcess[] = [];

/** Starts `command` in its own process group, as a terminal would: the group is what gets signalled. */
function launch(command: string, args: string[], extraEnv: Record<string, string> = {}): GroupProcess {
  const running = spawnGroup(command, args, {
    name: `${basename(command)} ${args.join(' ')}`,
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      GATEWAY_DEV_VARS: devVarsPath,
      GATEWAY_DATA_DIR: dataDir,
      PORT: String(workerPort),
      LIBSQL_PORT: String(libsqlPort),
      OPENAI_API_KEY: '',
      ANTHROPIC_API_KEY: '',
      XAI_API_KEY: '',
      GROQ_API_KEY: '',
      ...extraEnv,
    },
  });
  launched.push(running);
  return running;
}

/** Every living process in process group `group`, with its command name. */
function processGroup(group: number): Array<{ pid: number; command: string }> {
  return listProcesses()
    .filter((entry) => entry.pgid === group)
    .map((entry) => ({ pid: entry.pid, command: basename(entry.command) }));
}

function settingsService() {
  const { db } = createDatabase({ url: `http://127.0.0.1:${libsqlPort}`, authToken: undefined });
  return createSettingsService({ db, userId: 'default', defaultTransport: 'online', now: () => Date.parse('2026-11-24T04:30:00.000Z') });
}

const chosen = {
  preferred_transport: 'local' as const,
  default_online_model: 'groq/llama-3.3-70b-versatile',
  default_local_model: 'local/qwen3-8b',
  backup_models: ['openai/gpt-4o-mini'],
  rag_archives: ['kept across restarts'],
};

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'agent-gateway-start-'));
  devVarsPath = join(home, 'dev.vars');
  dataDir = join(home, 'data');
  workerPort = await findFreePort();
  libsqlPort = await findFreePort();
});

// A failed assertion must not leave a stack running: kill the group of any start still up.
afterEach(async () => {
  for (const running of launched.splice(0)) await running.stop('SIGKILL');
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('npm start', () => {
  it('creates .dev.vars, serves /health, and leaves no process behind after SIGTERM to its group', async () => {
    const start = launch('npm', ['start']);
    await start.waitForOutput('Ctrl-C stops everything.');

    const gatewayKey = /GATEWAY_API_KEY=(sk-gw-[A-Za-z0-9_-]{43})/.exec(start.output())?.[1];
    expect(gatewayKey).toBeDefined();
    expect(readFileSync(devVarsPath, 'utf8')).toContain(`GATEWAY_API_KEY=${gatewayKey}`);
    expect(statSync(devVarsPath).mode & 0o777).toBe(0o600);
    expect(start.output()).toContain(`Bearer ${gatewayKey}`);
    expect(start.output()).toMatch(/Not configured .*openai \(OPENAI_API_KEY\)/);

    const health = await fetch(`http://127.0.0.1:${workerPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    // The migrated database it started, on LIBSQL_PORT.
    await settingsService().replace(chosen);

    const group = start.child.pid!;
    const members = processGroup(group);
    expect(members.map((member) => member.command)).toEqual(expect.arrayContaining(['sqld', 'workerd']));

    process.kill(-group, 'SIGTERM');
    await start.exited;
    // npm exits on SIGTERM without waiting for its script, so no exit event marks the end.
    await waitForEmptyGroup(group, 15_000);
    expect(processGroup(group)).toEqual([]);
    expect(stillRunning(members.map((member) => member.pid))).toEqual([]);
    expect(await isPortFree(workerPort)).toBe(true);
    expect(await isPortFree(libsqlPort)).toBe(true);
  });

  it('keeps the data and the keys on the next start, and stops everything on SIGTERM to its own process alone', async () => {
    const devVarsBefore = readFileSync(devVarsPath, 'utf8');
    const start = launch(process.execPath, ['scripts/start.ts']);
    await start.waitForOutput('Ctrl-C stops everything.');
    expect(start.output()).not.toContain('Created');
    expect(start.output()).toContain('schema up to date');
    expect(readFileSync(devVarsPath, 'utf8')).toBe(devVarsBefore);
    expect(await settingsService().get()).toMatchObject(chosen);

    const group = start.child.pid!;
    const members = processGroup(group);
    expect(members.map((member) => member.command)).toEqual(expect.arrayContaining(['sqld', 'workerd']));

    start.child.kill('SIGTERM');
    expect(await start.exited).toBe(0);
    // start.ts waits for its whole tree before it exits: nothing may be left at that moment.
    expect(processGroup(group)).toEqual([]);
    expect(stillRunning(members.map((member) => member.pid))).toEqual([]);
  });

  it.each([
    ['LIBSQL_PORT', 'sqld'],
    ['PORT', 'the Worker'],
  ])('says what to do and exits non-zero when %s is taken', async (variable, what) => {
    const squatter = createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(variable === 'PORT' ? workerPort : libsqlPort, '127.0.0.1', resolve);
    });
    try {
      const start = launch(process.execPath, ['scripts/start.ts']);
      expect(await start.exited).toBe(1);
      expect(start.output()).toContain(`(${variable}) is already in use, so ${what} cannot listen there`);
      expect(start.output()).toContain(`${variable}=`);
      expect(processGroup(start.child.pid!)).toEqual([]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
