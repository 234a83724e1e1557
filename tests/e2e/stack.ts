/**
 * The whole product as a user runs it, for the flows, reliability and newcomer
 * suites: a migrated sqld (stack-database.ts), the Worker under `wrangler dev`
 * pointed at it, a loopback mock for each of the four providers, and (on
 * demand) bridge processes (stack-bridge.ts).
 *
 *   const stack = await startStack();
 *   const answer = await stack.client.chat.completions.create({ model: 'openai/gpt-4o', messages });
 *   const bridge = await stack.startBridge('mlx');
 *   await stack.restartGateway();      // same port, same Durable Object state
 *   await stack.database.kill();       // SIGKILL; stack.database.start() brings it back on the same port
 *   expect(findSecrets(stack.logs(), stack.secretList())).toEqual([]);
 *   await stack.stop();                // every process group gone, temp dirs deleted
 *
 * Secrets (stack-secrets.ts) reach the Worker the way `npm start` hands them
 * over: an env file (wrangler's `.dev.vars` path), never `--var`, so what
 * wrangler prints is what a developer would see. Every line any process prints
 * is kept for the secret-leak checks.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { spawnGroup, waitForHttp, type GroupProcess } from '../../scripts/process-group.ts';
import { findFreePort, REPO_ROOT } from '../../scripts/sqld.ts';
import { formatDevVars } from '../../scripts/dev-vars.ts';
import { wranglerDevArgs, wranglerDevEnv } from '../../scripts/wrangler-dev.ts';
import { startMockProviderSet, type MockProviderSet } from '../helpers/mock-provider-set.ts';
import type { MockProviderOptions } from '../helpers/mock-provider.ts';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { NODE, startBridgeProcess, type BridgeKind, type BridgeOptions, type BridgeProcess } from './stack-bridge.ts';
import { startDatabase, type StackDatabase } from './stack-database.ts';
import { sentinelSecrets, type StackSecrets } from './stack-secrets.ts';

const READY_TIMEOUT_MS = 60_000;

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

/** Starts mocks, sqld (migrated) and the Worker; resolves when /health answers. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const secrets = options.secrets ?? sentinelSecrets();
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-stack-'));
  const home = join(scratch, 'home');
  mkdirSync(home, { recursive: true });
  const processes: GroupProcess[] = [];
  const retiredOutput: string[] = [];
  let worker: GroupProcess | undefined;
  let mocks: MockProviderSet | undefined;
  let database: StackDatabase | undefined;

  const stopAll = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const managed of processes.splice(0).reverse()) {
      retiredOutput.push(managed.output());
      await managed.stop('SIGTERM').catch((error: unknown) => failures.push(error));
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
      const args = wranglerDevArgs({ port, inspectorPort: await findFreePort(), envFiles: [envFile], persistDir: join(scratch, 'wrangler-state'), vars });
      const launched = spawnGroup(NODE, args, { name: 'wrangler dev', cwd: REPO_ROOT, env: wranglerDevEnv({ CI: '1' }) });
      worker = launched;
      processes.push(launched);
      await waitForHttp(`${url}/health`, { name: launched.name, timeoutMs: READY_TIMEOUT_MS, exited: launched.exited, output: launched.output });
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
      startBridge(kind, bridgeOptions = {}) {
        return startBridgeProcess(kind, { url, token: secrets.BRIDGE_TOKEN, home }, bridgeOptions, (bridge) => processes.push(bridge));
      },
      async restartGateway() {
        if (worker) {
          processes.splice(processes.indexOf(worker), 1);
          retiredOutput.push(worker.output());
          await worker.stop('SIGTERM');
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
