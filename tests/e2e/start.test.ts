/**
 * `npm start` as a user runs it: real sqld, real migrations, the Worker served
 * by Miniflare alone (and `npm run dev`: the same under real `wrangler dev`),
 * in a temporary home (GATEWAY_DEV_VARS, GATEWAY_DATA_DIR) on free ports, so the
 * developer's own .dev.vars and .data are never touched.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client.ts';
import { createSettingsService } from '../../functions/settings/settings-service.ts';
import { createDevVars, readDevVars } from '../../scripts/dev-vars.ts';
import { spawnGroup, waitForEmptyGroup, waitForHttp, type GroupProcess } from '../../scripts/process-group.ts';
import { findFreePort, isPortFree, REPO_ROOT } from '../../scripts/sqld.ts';
import { listProcesses, stillRunning } from '../../scripts/process-tree.ts';
import { startMockProvider, type MockProvider } from '../helpers/mock-provider.ts';
import { openAIErrorOf } from './stack-answers.ts';

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

/** Sends SIGTERM to the start's group and resolves once none of it is left, ports freed. */
async function stopAndExpectNothingLeft(start: GroupProcess): Promise<void> {
  const group = start.child.pid!;
  const members = processGroup(group);
  process.kill(-group, 'SIGTERM');
  await start.exited;
  // npm exits on SIGTERM without waiting for its script, so no exit event marks the end.
  await waitForEmptyGroup(group, 15_000);
  expect(processGroup(group)).toEqual([]);
  expect(stillRunning(members.map((member) => member.pid))).toEqual([]);
  expect(await isPortFree(workerPort)).toBe(true);
  expect(await isPortFree(libsqlPort)).toBe(true);
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
    expect(start.output()).toContain('Served by Miniflare');

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

    expect(processGroup(start.child.pid!).map((member) => member.command)).toEqual(expect.arrayContaining(['sqld', 'workerd']));
    await stopAndExpectNothingLeft(start);
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

describe('npm run dev', () => {
  it('serves the same stack under wrangler dev, and leaves no process behind after SIGTERM to its group', async () => {
    const dev = launch('npm', ['run', 'dev']);
    await dev.waitForOutput('Ctrl-C stops everything.', 120_000);
    expect(dev.output()).toContain('Served by wrangler dev');
    const health = await fetch(`http://127.0.0.1:${workerPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    // The same secrets file and database as `npm start`.
    await settingsService().replace({ ...chosen, rag_archives: ['written under npm run dev'] });
    const gatewayKey = readDevVars(devVarsPath).GATEWAY_API_KEY ?? '';
    const settings = await fetch(`http://127.0.0.1:${workerPort}/v1/settings`, { headers: { authorization: `Bearer ${gatewayKey}` } });
    expect(settings.status).toBe(200);
    expect(await settings.json()).toMatchObject({ rag_archives: ['written under npm run dev'] });
    expect(processGroup(dev.child.pid!).map((member) => member.command)).toEqual(expect.arrayContaining(['sqld', 'workerd']));
    await stopAndExpectNothingLeft(dev);
  });
});

/** Every file under `folder`, recursively. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Holds `port` with a server that hangs up on every connection, as a dead database looks to a client. */
async function squat(port: number, boundMs = 5_000): Promise<Server> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const squatter = createServer((socket) => socket.destroy());
    const bound = await new Promise<boolean>((resolve) => {
      squatter.once('error', () => resolve(false));
      squatter.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return squatter;
    if (Date.now() > deadline) throw new Error(`127.0.0.1:${port} stayed taken`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('npm start with an online provider', () => {
  const upstreamKey = 'sk-upstream-start-0123456789';
  let upstream: MockProvider;
  let gatewayKey: string;

  beforeAll(async () => {
    upstream = await startMockProvider({ flavor: 'openai', apiKey: upstreamKey });
    if (!existsSync(devVarsPath)) createDevVars(devVarsPath);
    // wrangler reads only env files: the upstream's URL goes where a user would put it.
    appendFileSync(devVarsPath, `\nAGENT_ONLINE_ENDPOINTS='${JSON.stringify({ openai: { base_url: upstream.baseUrl } })}'\n`);
    gatewayKey = readDevVars(devVarsPath).GATEWAY_API_KEY ?? '';
  });

  afterAll(async () => {
    await upstream?.close();
  });

  const api = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`http://127.0.0.1:${workerPort}${path}`, { ...init, headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json', ...init.headers } });
  const completion = (): Promise<Response> => api('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) });

  it('starts a killed sqld again on the same port and data, serving completions meanwhile and settings 503 database_unavailable until it is back', async () => {
    const start = launch('npm', ['start'], { OPENAI_API_KEY: upstreamKey });
    await start.waitForOutput('Ctrl-C stops everything.');
    const before = { ...chosen, rag_archives: ['written before the kill'] };
    expect((await api('/v1/settings', { method: 'PUT', body: JSON.stringify(before) })).status).toBe(200);

    const sqld = processGroup(start.child.pid!).find((member) => member.command === 'sqld');
    expect(sqld).toBeDefined();
    process.kill(sqld!.pid, 'SIGKILL');
    // Hold its port so that it stays down (its restarts fail) for as long as the checks take.
    const squatter = await squat(libsqlPort);
    try {
      const online = await completion();
      expect(online.status).toBe(200);
      expect(await online.json()).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant' } }] });

      const down = await api('/v1/settings');
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).not.toBeNull();
      expect(openAIErrorOf(await down.json())).toMatchObject({ type: 'service_unavailable', code: 'database_unavailable', param: null });
      await start.waitForOutput('sqld exited (signal SIGKILL); restarting in 250 ms', 5_000);
      await start.waitForOutput(/sqld did not start again \(127\.0\.0\.1:\d+ is already in use\); restarting in \d+ ms/, 5_000);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }

    await waitForHttp(`http://127.0.0.1:${libsqlPort}/health`, { name: 'sqld', timeoutMs: 10_000, exited: start.exited, output: start.output });
    await start.waitForOutput(`sqld is back on http://127.0.0.1:${libsqlPort}`, 5_000);
    const kept = await api('/v1/settings');
    expect(kept.status).toBe(200);
    expect(await kept.json()).toMatchObject(before);
    const after = { ...chosen, rag_archives: ['written after the restart'] };
    expect((await api('/v1/settings', { method: 'PUT', body: JSON.stringify(after) })).status).toBe(200);
    expect(await (await api('/v1/settings')).json()).toMatchObject(after);
    expect((await completion()).status).toBe(200);
    expect(start.output()).not.toContain('stopping the Worker');

    await stopAndExpectNothingLeft(start);
  });

  it('keeps keys a caller put in the URL out of every file under .data/ and out of its output', async () => {
    const start = launch('npm', ['start'], { OPENAI_API_KEY: upstreamKey });
    await start.waitForOutput('Ctrl-C stops everything.');
    const secret = `sk-in-url-${crypto.randomUUID()}`;
    const url = `http://127.0.0.1:${workerPort}`;
    for (const name of ['api_key', 'key', 'token', 'access_token', 'apikey']) {
      expect((await fetch(`${url}/v1/settings?${name}=${secret}`)).status).toBe(401);
      expect((await fetch(`${url}/v1/chat/completions?${name}=${secret}`, { method: 'POST', body: '{}' })).status).toBe(401);
    }
    // With the right key in the header too, and on the bridge's door.
    expect((await api(`/v1/settings?api_key=${secret}`)).status).toBe(200);
    expect((await fetch(`${url}/bridge/connect?token=${secret}`)).status).toBe(400);
    expect((await completion()).status).toBe(200);

    await stopAndExpectNothingLeft(start);
    const files = filesUnder(dataDir);
    expect(files.length).toBeGreaterThan(0);
    const holding = files.filter((file) => readFileSync(file).includes(secret.replace('sk-in-url-', '')));
    expect(holding.map((file) => file.slice(dataDir.length))).toEqual([]);
    expect(start.output()).not.toContain(secret.replace('sk-in-url-', ''));
  });
});
