/**
 * The whole product as a user runs it, for the flows, reliability and newcomer
 * suites: a migrated sqld, the Worker under `wrangler dev` pointed at it, a
 * loopback mock for each of the four providers, and (on demand) bridge
 * processes: the real CLI (`bridge/cli.ts`) supervising the real Python worker
 * over the `mlx_lm` test double, or the scripted test bridge.
 *
 *   const stack = await startStack();
 *   const answer = await stack.client.chat.completions.create({ model: 'openai/gpt-4o', messages });
 *   const bridge = await stack.startBridge('mlx');
 *   await stack.restartGateway();      // same port, same Durable Object state
 *   await stack.sqld.kill();           // SIGKILL; stack.sqld.start() brings it back on the same port
 *   expect(findSecrets(stack.logs(), stack.secretList())).toEqual([]);
 *   await stack.stop();                // every process group gone, temp dirs deleted
 *
 * Secrets reach the Worker the way `npm start` hands them over: an env file
 * (wrangler's `.dev.vars` path), never `--var`, so what wrangler prints is what
 * a developer would see. Every line any process prints is kept for the
 * secret-leak checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { applyMigrations } from '../../db/apply-migrations.ts';
import { listProcesses } from '../../scripts/process-tree.ts';
import { findFreePort, REPO_ROOT, startSqld, type SqldServer } from '../../scripts/sqld.ts';
import { formatDevVars } from '../../scripts/dev-vars.ts';
import { startMockProviderSet, type MockProviderSet } from '../helpers/mock-provider-set.ts';
import type { MockProviderOptions } from '../helpers/mock-provider.ts';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { safeParseJson } from '../../protocol/validate.ts';

/** The model id the `mlx_lm` double knows (tests/mlx_lm/hub). */
export const MLX_MODEL_ID = 'mlx-community/Llama-3.2-3B-Instruct-4bit';
export const MLX_MODEL = `local/${MLX_MODEL_ID}`;

/** LOCAL_MODEL_PATHS serving each of `modelIds` from the double's weights folder (one model, many names). */
export function localModelPaths(modelIds: readonly string[]): string {
  const weights = join(REPO_ROOT, 'tests', 'mlx_lm', 'hub', ...MLX_MODEL_ID.split('/'));
  return JSON.stringify(Object.fromEntries(modelIds.map((id) => [id, weights])));
}

const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
const WRANGLER = join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** Every key and token the Worker and the bridge hold. */
export interface StackSecrets {
  GATEWAY_API_KEY: string;
  BRIDGE_TOKEN: string;
  OPENAI_API_KEY: string;
  ANTHROPIC_API_KEY: string;
  XAI_API_KEY: string;
  GROQ_API_KEY: string;
  TURSO_AUTH_TOKEN: string;
}

/** `sk-SENTINEL-<uuid>`: unique, key-shaped, easy to find in any text. */
export function sentinel(): string {
  return `sk-SENTINEL-${crypto.randomUUID()}`;
}

export function sentinelSecrets(): StackSecrets {
  return {
    GATEWAY_API_KEY: sentinel(),
    BRIDGE_TOKEN: sentinel(),
    OPENAI_API_KEY: sentinel(),
    ANTHROPIC_API_KEY: sentinel(),
    XAI_API_KEY: sentinel(),
    GROQ_API_KEY: sentinel(),
    TURSO_AUTH_TOKEN: sentinel(),
  };
}

/** Which of `secrets` occur in `text` (whole, or the UUID part alone). */
export function findSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => text.includes(secret) || text.includes(secret.replace(/^sk-SENTINEL-/, '')));
}

export interface StackOptions {
  /** Start sqld and point the Worker at it (default true). */
  database?: boolean;
  /** Extra Worker vars (`--var`), e.g. AGENT_DEFAULT_TRANSPORT. */
  vars?: Record<string, string>;
  /** Per-provider `AGENT_ONLINE_ENDPOINTS` fields merged over the mocks' base URLs. */
  endpoints?: Partial<Record<OnlineProvider, Record<string, unknown>>>;
  /** Per-provider mock options (e.g. enforce the key with `apiKey`). */
  mocks?: Partial<Record<OnlineProvider, MockProviderOptions>>;
  /** Secret values; default: a fresh sentinel for each. Leave one out of the Worker with `omitSecrets`. */
  secrets?: StackSecrets;
  /** Secrets not given to the Worker (e.g. provider keys, to see "unconfigured"). */
  omitSecrets?: Array<keyof StackSecrets>;
}

/** A child process in its own process group, with everything it prints kept. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string | null>;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves once the output matches; rejects when the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Signals the whole group and resolves once no member is left (SIGKILL after a grace period). */
  stopGroup(signal?: NodeJS.Signals): Promise<void>;
}

function groupMembers(pgid: number): number[] {
  return listProcesses()
    .filter((entry) => entry.pgid === pgid)
    .map((entry) => entry.pid);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Resolves when no member of `pgid` is left (polling the table: grandchildren send no exit event). */
export async function waitForEmptyGroup(pgid: number, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = groupMembers(pgid);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = groupMembers(pgid);
  }
  return left;
}

/** Spawns `command` in its own process group and keeps what it prints. */
export function spawnManaged(command: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess {
  const child = spawn(command, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  void exited.then(() => {
    for (const listener of [...listeners]) listener();
  });
  const matches = (pattern: string | RegExp): boolean => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
  return {
    child,
    exited,
    output: () => text,
    waitForOutput(pattern, timeoutMs = READY_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}:\n${text.slice(-4000)}`)), timeoutMs);
        const finish = (error?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = (): void => {
          if (matches(pattern)) finish();
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`exited before printing ${String(pattern)}:\n${text.slice(-4000)}`));
        };
        listeners.add(check);
        check();
      });
    },
    async stopGroup(signal = 'SIGTERM') {
      const pgid = child.pid;
      if (pgid === undefined) return;
      signalGroup(pgid, signal);
      const left = await waitForEmptyGroup(pgid, STOP_GRACE_MS);
      if (left.length > 0) {
        signalGroup(pgid, 'SIGKILL');
        const survivors = await waitForEmptyGroup(pgid, STOP_GRACE_MS);
        if (survivors.length > 0) throw new Error(`processes ${survivors.join(', ')} of group ${pgid} survived SIGKILL`);
      }
      await exited;
    },
  };
}

/** The database of the stack: a real sqld that can be killed and brought back on the same port and data. */
export interface StackDatabase {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** Everything sqld printed, across restarts. */
  output(): string;
  /** SIGKILL: no shutdown, as a crash would. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

async function startDatabase(dataDir: string): Promise<StackDatabase> {
  const port = await findFreePort();
  let lines = '';
  let server: SqldServer | undefined;
  const launch = async (): Promise<void> => {
    server = await startSqld({ dataDir, port, onOutput: (line) => (lines += `${line}\n`) });
  };
  await launch();
  await applyMigrations({ url: `http://127.0.0.1:${port}`, authToken: undefined });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get running() {
      return server !== undefined;
    },
    output: () => lines,
    async kill() {
      const current = server;
      server = undefined;
      if (!current) return;
      current.child.kill('SIGKILL');
      await current.exited;
    },
    async stop() {
      const current = server;
      server = undefined;
      await current?.stop();
    },
    start: launch,
  };
}

export type BridgeKind = 'mlx' | 'test';

export interface BridgeOptions {
  /** Default: the stack's BRIDGE_TOKEN. */
  token?: string;
  /** Extra environment (e.g. MLX_DOUBLE_TOKEN_DELAY_MS, BRIDGE_MAX_CONCURRENT). */
  env?: Record<string, string>;
  /** Wait until it says it is connected (default true). */
  waitConnected?: boolean;
}

export interface BridgeProcess extends ManagedProcess {
  readonly kind: BridgeKind;
}

export interface Stack {
  readonly url: string;
  readonly secrets: StackSecrets;
  readonly mocks: MockProviderSet;
  /** Undefined when started with `database: false`. */
  readonly database: StackDatabase | undefined;
  /** The official client, its own retries off: what a test sees is what the gateway did. */
  readonly client: OpenAI;
  /** `fetch` on the gateway with the gateway key. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** A bridge process connected to this gateway. */
  startBridge(kind: BridgeKind, options?: BridgeOptions): Promise<BridgeProcess>;
  /** Stops the Worker (whole group) and starts it again on the same port and state. */
  restartGateway(): Promise<void>;
  /** Every secret value (for leak checks). */
  secretList(): string[];
  /** Everything every process of this stack printed so far (Worker, bridges, sqld). */
  logs(): string;
  /** How many process outputs `logs()` holds (each Worker run, each bridge, sqld). */
  logSources(): number;
  /** Stops everything; rejects if any process survives. */
  stop(): Promise<void>;
}

async function waitForHealth(url: string, worker: ManagedProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      throw new Error(`wrangler dev exited before the Worker was ready:\n${worker.output().slice(-4000)}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Worker did not answer ${url}/health within ${READY_TIMEOUT_MS / 1000} s:\n${worker.output().slice(-4000)}`);
}

/** Starts mocks, sqld (migrated) and the Worker; resolves when /health answers. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const secrets = options.secrets ?? sentinelSecrets();
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-stack-'));
  const home = join(scratch, 'home');
  mkdirSync(home, { recursive: true });
  const processes: ManagedProcess[] = [];
  const retiredOutput: string[] = [];
  let worker: ManagedProcess | undefined;
  let mocks: MockProviderSet | undefined;
  let database: StackDatabase | undefined;

  const stopAll = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const managed of processes.splice(0).reverse()) {
      retiredOutput.push(managed.output());
      await managed.stopGroup('SIGTERM').catch((error: unknown) => failures.push(error));
    }
    await database?.stop().catch((error: unknown) => failures.push(error));
    await mocks?.close();
    rmSync(scratch, { recursive: true, force: true });
    if (failures.length > 0) throw failures[0];
  };

  try {
    // Each mock insists on the key the Worker holds for it, as the real API would.
    const keyOf: Record<OnlineProvider, string> = {
      openai: secrets.OPENAI_API_KEY,
      anthropic: secrets.ANTHROPIC_API_KEY,
      xai: secrets.XAI_API_KEY,
      groq: secrets.GROQ_API_KEY,
    };
    const providerNames = Object.keys(keyOf) as OnlineProvider[];
    mocks = await startMockProviderSet(
      Object.fromEntries(providerNames.map((name) => [name, { apiKey: keyOf[name], ...options.mocks?.[name] }])) as Record<OnlineProvider, MockProviderOptions>,
    );
    if (options.database !== false) database = await startDatabase(join(scratch, 'sqld'));

    const envFile = join(scratch, 'dev.vars');
    const given = Object.fromEntries(Object.entries(secrets).filter(([name]) => !options.omitSecrets?.includes(name as keyof StackSecrets)));
    writeFileSync(envFile, `${formatDevVars(given)}\n`, { mode: 0o600 });
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const vars: Record<string, string> = {
      AGENT_ONLINE_ENDPOINTS: mocks.endpointsJson(options.endpoints),
      ...(database ? { TURSO_DATABASE_URL: database.url } : {}),
      ...options.vars,
    };
    const launchWorker = async (): Promise<void> => {
      const inspectorPort = await findFreePort();
      const args = [
        WRANGLER, 'dev',
        '--ip', '127.0.0.1',
        '--port', String(port),
        '--inspector-port', String(inspectorPort),
        '--env-file', envFile,
        '--persist-to', join(scratch, 'wrangler-state'),
        '--show-interactive-dev-session=false',
        ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
      ];
      worker = spawnManaged(NODE, args, { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' });
      processes.push(worker);
      await waitForHealth(url, worker);
    };
    await launchWorker();

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: secrets.GATEWAY_API_KEY, maxRetries: 0, timeout: 60_000 });
    const stack: Stack = {
      url,
      secrets,
      mocks,
      database,
      client,
      api(path, init = {}) {
        const headers = new Headers(init.headers);
        if (!headers.has('authorization')) headers.set('authorization', `Bearer ${secrets.GATEWAY_API_KEY}`);
        if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
        return fetch(`${url}${path}`, { ...init, headers });
      },
      async startBridge(kind, bridgeOptions = {}) {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          // A home of its own: no config file, state file or Hub cache of the developer's.
          HOME: home,
          XDG_CONFIG_HOME: join(home, '.config'),
          XDG_STATE_HOME: join(home, '.state'),
          HF_HOME: join(home, '.hf'),
          PYTHONPATH: join(REPO_ROOT, 'tests', 'mlx_lm'),
          PYTHONDONTWRITEBYTECODE: '1',
          BRIDGE_PYTHON: process.env.BRIDGE_PYTHON ?? 'python3',
          BRIDGE_URL: url,
          // The token goes by environment, not argv, as the contract allows: it never shows in `ps`.
          BRIDGE_TOKEN: bridgeOptions.token ?? secrets.BRIDGE_TOKEN,
          // The double's weights folder, configured as a user with downloaded weights would.
          LOCAL_MODEL_PATHS: localModelPaths([MLX_MODEL_ID]),
          ...bridgeOptions.env,
        };
        const args =
          kind === 'mlx'
            ? ['bridge/cli.ts', 'start']
            : ['tests/helpers/run-test-bridge.ts', '--url', url, '--token', env.BRIDGE_TOKEN ?? '', '--max-concurrent', bridgeOptions.env?.BRIDGE_MAX_CONCURRENT ?? '128'];
        const managed = spawnManaged(NODE, args, env);
        processes.push(managed);
        if (bridgeOptions.waitConnected !== false) {
          await managed.waitForOutput(kind === 'mlx' ? 'connected to the gateway' : '"state":"connected"');
        }
        return { ...managed, kind };
      },
      async restartGateway() {
        if (worker) {
          processes.splice(processes.indexOf(worker), 1);
          retiredOutput.push(worker.output());
          await worker.stopGroup('SIGTERM');
        }
        await launchWorker();
      },
      secretList: () => Object.values(secrets),
      logs: () => [...retiredOutput, ...processes.map((managed) => managed.output()), database?.output() ?? ''].join('\n'),
      logSources: () => retiredOutput.length + processes.length + (database ? 1 : 0),
      stop: stopAll,
    };
    return stack;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

/** Reads an OpenAI-shaped error body; undefined when the body is not one. */
export function openAIErrorOf(body: unknown): { message: string; type: string; param: string | null; code: string | null } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { message, type, param, code } = error as Record<string, unknown>;
  if (typeof message !== 'string' || typeof type !== 'string') return undefined;
  if (param !== null && typeof param !== 'string') return undefined;
  if (code !== null && typeof code !== 'string') return undefined;
  return { message, type, param, code };
}

/** What a streamed completion added up to, as the official client delivered it. */
export interface StreamedCompletion {
  text: string;
  finishReason: string | null;
  /** The `model` of the chunks (the full `provider/model` that served). */
  model: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  usage: OpenAI.CompletionUsage | undefined;
  chunks: number;
}

/** Reads a stream from `client.chat.completions.create({stream: true})` to its end. */
export async function readStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<StreamedCompletion> {
  const result: StreamedCompletion = { text: '', finishReason: null, model: '', toolCalls: [], usage: undefined, chunks: 0 };
  for await (const chunk of stream) {
    result.chunks += 1;
    result.model = chunk.model;
    if (chunk.usage) result.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    result.text += choice.delta.content ?? '';
    result.finishReason = choice.finish_reason ?? result.finishReason;
    for (const call of choice.delta.tool_calls ?? []) {
      const entry = (result.toolCalls[call.index] ??= { id: '', name: '', arguments: '' });
      if (call.id) entry.id = call.id;
      if (call.function?.name) entry.name += call.function.name;
      if (call.function?.arguments) entry.arguments += call.function.arguments;
    }
  }
  return result;
}

/** The `agent` block the gateway adds to a non-streaming completion. */
export interface AgentMetadata {
  backend: string;
  provider: string;
  model_id: string;
  latency_ms: number;
  attempts: Array<{ provider: string; model_id: string; status: number; error_type: string | null; latency_ms: number }>;
}

/** The gateway's `agent` block of a completion (the SDK passes unknown fields through). */
export function agentOf(completion: OpenAI.ChatCompletion): AgentMetadata {
  return (completion as unknown as { agent: AgentMetadata }).agent;
}

/**
 * An OpenAI-compatible upstream that streams each request's last user message
 * back word by word, and knows exactly which responses are still open: for
 * checking that streams never cross and that nothing is left running after
 * clients leave. `delay:N` in the message waits N ms between words.
 */
export interface EchoUpstream {
  /** For AGENT_ONLINE_ENDPOINTS: `origin + '/v1'`. */
  readonly baseUrl: string;
  /** Responses begun and not yet ended. */
  open(): number;
  /** Responses that ended because the gateway closed the connection first. */
  aborted(): number;
  /** Responses written to the end. */
  finished(): number;
  /** Resolves with the open count once none is open, or when `timeoutMs` passes. */
  waitUntilIdle(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/** The words the echo upstream (and the `mlx_lm` double) send back for `text`. */
export function echoOf(text: string): string {
  return text.replace(/\bdelay:\d+\s*/g, '').trim();
}

export async function startEchoUpstream(apiKey: string): Promise<EchoUpstream> {
  const { createServer } = await import('node:http');
  let open = 0;
  let aborted = 0;
  let finished = 0;
  const idleWaiters = new Set<() => void>();
  const server = createServer((request, response) => {
    response.on('error', () => undefined);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.headers.authorization !== `Bearer ${apiKey}`) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
        return;
      }
      const parsed = safeParseJson(Buffer.concat(chunks).toString('utf8'));
      // The gateway is the only caller: its body has this shape once it parsed.
      const body = (parsed.ok ? parsed.value : { model: '', messages: [] }) as { model: string; messages: Array<{ role: string; content: unknown }> };
      const last = [...body.messages].reverse().find((message) => message.role === 'user');
      const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
      const delayMs = Number(/\bdelay:(\d+)/.exec(text)?.[1] ?? 0);
      const words = echoOf(text).split(/(?<= )/);
      open += 1;
      let ended = false;
      const end = (how: 'finished' | 'aborted'): void => {
        if (ended) return;
        ended = true;
        open -= 1;
        if (how === 'finished') finished += 1;
        else aborted += 1;
        if (open === 0) for (const wake of [...idleWaiters]) wake();
      };
      response.on('close', () => end(response.writableFinished ? 'finished' : 'aborted'));
      const id = `chatcmpl-echo-${crypto.randomUUID()}`;
      const chunk = (delta: Record<string, unknown>, finishReason: string | null): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(chunk({ role: 'assistant', content: '' }, null));
      let index = 0;
      const next = (): void => {
        if (response.destroyed) return;
        const word = words[index++];
        if (word === undefined) {
          response.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
          return;
        }
        response.write(chunk({ content: word }, null));
        setTimeout(next, delayMs);
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    open: () => open,
    aborted: () => aborted,
    finished: () => finished,
    waitUntilIdle(timeoutMs) {
      if (open === 0) return Promise.resolve(0);
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          idleWaiters.delete(done);
          resolve(open);
        };
        const timer = setTimeout(done, timeoutMs);
        idleWaiters.add(done);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
