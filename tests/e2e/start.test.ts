/**
 * `npm start` as a user runs it: real sqld, real migrations, real `wrangler dev`,
 * in a temporary home (GATEWAY_DEV_VARS, GATEWAY_DATA_DIR) on free ports, so the
 * developer's own .dev.vars and .data are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client.ts';
import { createSettingsService } from '../../functions/settings/settings-service.ts';
import { findFreePort, isPortFree, REPO_ROOT } from '../../scripts/sqld.ts';
import { listProcesses, stillRunning } from '../../scripts/process-tree.ts';

interface RunningStart {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the output contains `text`; rejects if the process exits first. */
  waitForOutput: (text: string) => Promise<void>;
  exited: Promise<number | null>;
}

let home: string;
let devVarsPath: string;
let dataDir: string;
let workerPort: number;
let libsqlPort: number;

const launched: RunningStart[] = [];

function launch(command: string, args: string[], extraEnv: Record<string, string> = {}): RunningStart {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    // Its own process group, as a terminal would give it: the group is what gets signalled.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
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
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForOutput = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (output.includes(text)) {
          listeners.delete(check);
          resolve();
        }
      };
      listeners.add(check);
      check();
      void exited.then(() => {
        listeners.delete(check);
        reject(new Error(`exited before printing '${text}':\n${output}`));
      });
    });
  const running = { child, output: () => output, waitForOutput, exited };
  launched.push(running);
  return running;
}

/** Every living process in process group `group`, with its command name. */
function processGroup(group: number): Array<{ pid: number; command: string }> {
  return listProcesses()
    .filter((entry) => entry.pgid === group)
    .map((entry) => ({ pid: entry.pid, command: basename(entry.command) }));
}

/**
 * Resolves with what is left of the group once it is empty, or after `timeoutMs`.
 * npm exits on SIGTERM without waiting for its script, so no exit event marks the end:
 * the process table is asked instead.
 */
async function groupAfterShutdown(group: number, timeoutMs = 15_000): Promise<Array<{ pid: number; command: string }>> {
  const deadline = Date.now() + timeoutMs;
  let left = processGroup(group);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processGroup(group);
  }
  return left;
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
  for (const running of launched.splice(0)) {
    if (running.child.exitCode !== null || running.child.signalCode !== null || running.child.pid === undefined) continue;
    try {
      process.kill(-running.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await running.exited;
  }
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
    expect(await groupAfterShutdown(group)).toEqual([]);
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
