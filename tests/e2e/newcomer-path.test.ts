/**
 * The newcomer's path, as the README tells it: `npm start` (here `node
 * scripts/start.ts` with its files moved to a temp home by GATEWAY_DEV_VARS and
 * GATEWAY_DATA_DIR, on free ports) with no provider keys, the printed first
 * request, the README's own curl command run by a real shell, and every error a
 * newcomer can hit saying what to do next.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { safeParseJson } from '../../protocol/validate.ts';
import { findFreePort, REPO_ROOT } from '../../scripts/sqld.ts';
import { startMockProvider, type MockProvider } from '../helpers/mock-provider.ts';
import { spawnGroup, type GroupProcess } from '../../scripts/process-group.ts';
import { openAIErrorOf } from './stack-answers.ts';

const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
let home: string;
let devVars: string;
let workerPort: number;
let libsqlPort: number;
let started: GroupProcess | undefined;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'agent-gateway-newcomer-'));
  devVars = join(home, '.dev.vars');
  workerPort = await findFreePort();
  libsqlPort = await findFreePort();
});

afterEach(async () => {
  await started?.stop('SIGTERM');
  started = undefined;
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

/** `npm start` as a newcomer runs it: no provider key anywhere in the environment. */
function npmStart(): GroupProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_DEV_VARS: devVars, GATEWAY_DATA_DIR: join(home, 'data'), PORT: String(workerPort), LIBSQL_PORT: String(libsqlPort) };
  for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'XAI_API_KEY', 'GROQ_API_KEY', 'TURSO_DATABASE_URL', 'TURSO_AUTH_TOKEN']) delete env[name];
  started = spawnGroup(NODE, ['scripts/start.ts'], { name: 'npm start', cwd: REPO_ROOT, env });
  return started;
}

/** The README's chat-completion curl command, exactly as written there. */
function readmeCurl(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '').find((code) => code.includes('/v1/chat/completions'));
  if (!block) throw new Error('README.md has no ```sh block with a /v1/chat/completions curl');
  return block.trim();
}

/** Runs a shell command line (the README's), with `GATEWAY_API_KEY` in its environment; resolves with stdout. */
function shell(command: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

/** The status line and JSON body of `curl -i` output. */
function parseCurlInclude(output: string): { status: number; headers: string; body: unknown } {
  const [head = '', ...rest] = output.split(/\r?\n\r?\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0);
  const text = rest.join('\n\n');
  const json = safeParseJson(text);
  return { status, headers: head.toLowerCase(), body: json.ok ? json.value : text };
}

describe('a newcomer with no provider keys', () => {
  it('starts, says which providers are unconfigured, and answers the printed first request', async () => {
    const start = npmStart();
    await start.waitForOutput('Ctrl-C stops everything.', 120_000);
    const output = start.output();
    expect(output).toMatch(/Not configured[^\n]*openai \(OPENAI_API_KEY\)[^\n]*anthropic \(ANTHROPIC_API_KEY\)[^\n]*xai \(XAI_API_KEY\)[^\n]*groq \(GROQ_API_KEY\)/);

    // The first request exactly as npm start printed it, run by a shell.
    const printed = /^\s*(curl -H "Authorization: Bearer [^"]+" \S+\/v1\/settings)\s*$/m.exec(output)?.[1];
    expect(printed).toBeDefined();
    const settings = safeParseJson(await shell(printed ?? 'false', {}));
    expect(settings.ok && settings.value).toMatchObject({ preferred_transport: 'online', backup_models: [], updated_at: null });
  });

  it('gets an error that says what to do for each mistake a newcomer makes', async () => {
    const start = npmStart();
    await start.waitForOutput('Ctrl-C stops everything.', 120_000);
    const key = /GATEWAY_API_KEY=(\S+)/.exec(readFileSync(devVars, 'utf8'))?.[1] ?? '';
    const base = `http://127.0.0.1:${workerPort}`;
    const chat = (body: unknown, authorization?: string): Promise<Response> =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(body),
      });
    const hello = [{ role: 'user', content: 'Say hello' }];

    // No key: 401 telling how to send it.
    const noKey = await chat({ model: 'openai/gpt-4o-mini', messages: hello });
    expect(noKey.status).toBe(401);
    expect(openAIErrorOf(await noKey.json())?.message).toMatch(/Authorization: Bearer <GATEWAY_API_KEY>/);

    // The README's request while no provider key is set: 404 naming `model` and the variable to set.
    const unconfigured = parseCurlInclude(await shell(readmeCurl().replace('127.0.0.1:8787', `127.0.0.1:${workerPort}`), { GATEWAY_API_KEY: key }));
    expect(unconfigured.status).toBe(404);
    expect(openAIErrorOf(unconfigured.body)).toMatchObject({ param: 'model', code: 'model_not_found', message: expect.stringContaining('ANTHROPIC_API_KEY') });

    // A model name without its provider: 404 naming `model` and how to write it.
    const unknown = await chat({ model: 'gpt-4o', messages: hello }, `Bearer ${key}`);
    expect(unknown.status).toBe(404);
    expect(openAIErrorOf(await unknown.json())).toMatchObject({ param: 'model', message: expect.stringMatching(/provider\/model/) });

    // No bridge: 503 bridge_offline, Retry-After, and the command that starts one.
    const noBridge = await chat({ model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit', messages: hello }, `Bearer ${key}`);
    expect(noBridge.status).toBe(503);
    expect(noBridge.headers.get('retry-after')).toMatch(/^[1-9]\d*$/); // whole seconds
    expect(openAIErrorOf(await noBridge.json())).toMatchObject({ code: 'bridge_offline', message: expect.stringContaining('npm run bridge') });
  });

  it('is told which variable to change when the sqld port is taken', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(libsqlPort, '127.0.0.1', resolve));
    try {
      const start = npmStart();
      expect(await start.exited).toBe(1);
      expect(start.output()).toMatch(/LIBSQL_PORT\) is already in use/);
      expect(start.output()).toContain(`LIBSQL_PORT=${libsqlPort + 1} npm start`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

describe('a newcomer who adds a provider key to .dev.vars', () => {
  let anthropic: MockProvider;

  beforeAll(async () => {
    anthropic = await startMockProvider({ flavor: 'anthropic', apiKey: 'sk-ant-newcomer-0001' });
  });

  afterAll(async () => {
    await anthropic?.close();
  });

  it('runs the README curl command unchanged and gets the answer with the agent headers', async () => {
    // What the README says to do, with the provider's URL pointed at a loopback stand-in.
    appendFileSync(devVars, `\nANTHROPIC_API_KEY=sk-ant-newcomer-0001\nAGENT_ONLINE_ENDPOINTS='${JSON.stringify({ anthropic: { base_url: anthropic.baseUrl } })}'\n`);
    anthropic.script([{ kind: 'reply', content: 'Hello, newcomer!' }]);
    const start = npmStart();
    await start.waitForOutput('Ctrl-C stops everything.', 120_000);
    expect(start.output()).not.toMatch(/Not configured[^\n]*anthropic/);
    const key = /GATEWAY_API_KEY=(\S+)/.exec(readFileSync(devVars, 'utf8'))?.[1] ?? '';

    const answer = parseCurlInclude(await shell(readmeCurl().replace('127.0.0.1:8787', `127.0.0.1:${workerPort}`), { GATEWAY_API_KEY: key }));
    expect(answer.status).toBe(200);
    expect(answer.headers).toContain('x-agent-provider: anthropic');
    expect(answer.headers).toContain('x-agent-model: anthropic/claude-sonnet-4-5');
    expect(answer.body).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content: 'Hello, newcomer!' } }] });
  });
});
