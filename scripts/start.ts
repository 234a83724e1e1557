/**
 * `npm start` and `npm run dev`: the whole edge stack on this machine, offline.
 *
 *   1. `.dev.vars` created with fresh GATEWAY_API_KEY and BRIDGE_TOKEN when missing
 *   2. sqld on 127.0.0.1:${LIBSQL_PORT:-8080}, data under .data/, started again
 *      (same port, same data, with backoff) when it dies; the Worker keeps serving
 *      meanwhile and settings answer 503 database_unavailable until it is back
 *   3. pending migrations from drizzle/ applied to it
 *   4. the Worker on 127.0.0.1:${PORT:-8787}, TURSO_DATABASE_URL pointing at that sqld:
 *      - `npm start`: bundled as `wrangler deploy` would, and served by Miniflare
 *        alone, workerd's socket bound straight to the Worker (no dev proxy on
 *        the request path; scripts/miniflare-worker.ts). Edits need a restart.
 *      - `npm run dev` (`--dev`): under `wrangler dev`, which reloads on edits.
 *
 * Ctrl-C, or SIGTERM to the process group (or to this process alone), stops
 * the Worker, then sqld, and exits once both are gone.
 *
 * For tests and side-by-side checkouts: GATEWAY_DEV_VARS (path of the secrets
 * file, default ./.dev.vars) and GATEWAY_DATA_DIR (default ./.data) move the
 * files this command touches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyMigrations } from '../db/apply-migrations.ts';
import { createDevVars, formatDevVars, gatewayKeyHint, PROVIDER_KEY_VARIABLES, readDevVars } from './dev-vars.ts';
import { defaultRuntimeDeps } from '../protocol/runtime-deps.ts';
import { isPortFree, REPO_ROOT, startSqld, type SqldServer } from './sqld.ts';
import { stopProcess, waitForHttp } from './process-group.ts';
import { descendantsOf, waitUntilGone } from './process-tree.ts';
import { superviseRestarts, type RestartSupervisor } from './restart-supervisor.ts';
import { WRANGLER_JS, wranglerDevArgs, wranglerDevEnv } from './wrangler-dev.ts';
import { bundleWorker, readWorkerConfig, serveDirectly } from './miniflare-worker.ts';
import type { Miniflare } from 'miniflare';

const HOST = '127.0.0.1';
/** `--dev`: serve under `wrangler dev` (reload on edits) instead of Miniflare alone. */
const devMode = process.argv.slice(2).includes('--dev');
const workerName = devMode ? 'wrangler dev' : 'the Worker (Miniflare)';
const WORKER_READY_TIMEOUT_MS = 120_000;
const WORKER_STOP_GRACE_MS = 10_000;

function fail(message: string): never {
  console.error(`\n✖ ${message}\n`);
  process.exit(1);
}

function portFromEnv(variable: string, fallback: number): number {
  const raw = process.env[variable]?.trim();
  if (!raw) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`${variable} must be a port number (1-65535), got '${raw}'`);
  return port;
}

const workerPort = portFromEnv('PORT', 8787);
const libsqlPort = portFromEnv('LIBSQL_PORT', 8080);
const devVarsPath = resolve(process.env.GATEWAY_DEV_VARS?.trim() || join(REPO_ROOT, '.dev.vars'));
const dataDir = resolve(process.env.GATEWAY_DATA_DIR?.trim() || join(REPO_ROOT, '.data'));
// Provider keys set in this shell reach the Worker through this file (wrangler reads
// only env files); .dev.vars is loaded after it and wins.
const forwardedVarsPath = join(dataDir, 'shell-env.vars');

let sqld: RestartSupervisor<SqldServer> | undefined;
// Aborted the moment the stack starts stopping: from then on an exit of sqld is no crash.
const shutdown = new AbortController();
let worker: ChildProcess | undefined;
let miniflare: Miniflare | undefined;
let workerExited: Promise<unknown> = Promise.resolve();
let stopping: Promise<void> | undefined;

/** Stops the Worker first (it may be mid-request), then sqld; idempotent. */
function stopAll(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    shutdown.abort();
    if (miniflare) {
      // workerd is Miniflare's child: dispose() stops it; a Ctrl-C may have stopped it already.
      const workerTree = descendantsOf(process.pid).filter((entry) => entry.command.endsWith('workerd')).map((entry) => entry.pid);
      await Promise.race([miniflare.dispose().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, WORKER_STOP_GRACE_MS))]);
      await waitUntilGone(workerTree, WORKER_STOP_GRACE_MS);
    }
    if (worker) {
      // wrangler exits before the workerd processes it started are gone: wait for those too.
      const workerTree = worker.pid !== undefined && worker.exitCode === null ? descendantsOf(worker.pid).map((entry) => entry.pid) : [];
      await stopProcess(worker, workerExited, WORKER_STOP_GRACE_MS);
      await waitUntilGone(workerTree, WORKER_STOP_GRACE_MS);
    }
    // Also waits for a start under way (a signal during start-up), rather than orphan it.
    await sqld?.stop();
    rmSync(forwardedVarsPath, { force: true });
    process.exit(exitCode);
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.log(`\n${signal}: stopping the Worker and sqld…`);
    void stopAll(0);
  });
}

async function ensurePortFree(port: number, variable: string, what: string): Promise<void> {
  if (await isPortFree(port)) return;
  fail(
    `${HOST}:${port} (${variable}) is already in use, so ${what} cannot listen there.\n` +
      `  Is another \`npm start\` running? Stop it, or pick another port: ${variable}=${port + 1} npm start`,
  );
}

/** The secrets, and whether this start just created them (only then are they printed). */
function prepareDevVars(): { devVars: Record<string, string>; justCreated: boolean } {
  let justCreated = false;
  if (!existsSync(devVarsPath)) {
    const created = createDevVars(devVarsPath);
    justCreated = true;
    console.log(`Created ${devVarsPath} with fresh secrets (keep them private):`);
    console.log(`  GATEWAY_API_KEY=${created.gatewayApiKey}`);
    console.log(`  BRIDGE_TOKEN=${created.bridgeToken}\n`);
  }
  return { devVars: readDevVars(devVarsPath), justCreated };
}

/** Provider keys set in this shell and not in .dev.vars. */
function shellProviderKeys(devVars: Record<string, string>): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const variable of Object.values(PROVIDER_KEY_VARIABLES)) {
    const value = process.env[variable]?.trim();
    if (value && !devVars[variable]) forwarded[variable] = value;
  }
  return forwarded;
}

/** wrangler dev reads secrets only from env files: the shell's keys go in one, removed at stop. */
function writeForwardedVars(forwarded: Record<string, string>): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(forwardedVarsPath, `${formatDevVars(forwarded)}\n`, { mode: 0o600 });
}

function startWranglerDev(databaseUrl: string): void {
  if (!existsSync(WRANGLER_JS)) fail('wrangler is not installed: run `npm install`');
  const args = wranglerDevArgs({
    port: workerPort,
    vars: { TURSO_DATABASE_URL: databaseUrl },
    envFiles: [forwardedVarsPath, devVarsPath],
    persistDir: join(dataDir, 'wrangler'),
  });
  // Same process group as this one, so a Ctrl-C in the terminal reaches it directly;
  // stdin ignored so wrangler never puts the terminal in raw mode and swallows Ctrl-C.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: wranglerDevEnv(),
  });
  worker = child;
  workerExited = new Promise((resolve) => child.once('exit', resolve));
  void workerExited.then(() => {
    if (!stopping) {
      console.error('\n✖ wrangler dev exited; stopping sqld.');
      void stopAll(1);
    }
  });
}

/**
 * The Worker as production runs it, served by Miniflare alone: the bundle
 * `wrangler deploy` would upload, wrangler.toml's bindings, and the same
 * secrets wrangler dev would read, in wrangler's order (config vars, the
 * database, the shell's provider keys, then .dev.vars, which wins).
 */
async function startMiniflare(databaseUrl: string, devVars: Record<string, string>, forwarded: Record<string, string>): Promise<void> {
  if (!existsSync(WRANGLER_JS)) fail('wrangler is not installed: run `npm install`');
  const configPath = join(REPO_ROOT, 'wrangler.toml');
  const [config, built] = await Promise.all([
    readWorkerConfig(configPath),
    bundleWorker({ configPath, outdir: join(dataDir, 'worker-bundle') }),
  ]);
  if (stopping) return;
  const served = await serveDirectly(
    { ...config, bundle: built.bundle, vars: { ...config.vars, TURSO_DATABASE_URL: databaseUrl, ...forwarded, ...devVars } },
    { host: HOST, port: workerPort, persistDir: join(dataDir, 'miniflare'), ownSignals: true },
  );
  miniflare = served.miniflare;
  // Miniflare reports no exit of its own: its workerd stops when this process does.
  workerExited = new Promise(() => undefined);
  // A start that was told to stop while workerd came up.
  if (stopping) await served.miniflare.dispose().catch(() => undefined);
}

function printUsage(url: string, devVars: Record<string, string>, justCreated: boolean, forwarded: string[]): void {
  const hint = gatewayKeyHint(devVarsPath, justCreated, devVars.GATEWAY_API_KEY);
  console.log(`\n✔ agent-gateway is up on ${url} (database: sqld on ${HOST}:${libsqlPort}, data in ${dataDir})`);
  console.log(devMode ? '  Served by wrangler dev: edits under functions/ reload the Worker.\n' : '  Served by Miniflare (workerd, no dev proxy): restart after editing, or use `npm run dev` to reload on edits.\n');
  console.log('Try it:');
  console.log(`  curl ${url}/health`);
  console.log(`  curl -H "Authorization: Bearer ${hint.bearer}" ${url}/v1/settings`);
  if (hint.note) console.log(`  (${hint.note})`);
  if (forwarded.length > 0) console.log(`\nFrom your shell: ${forwarded.join(', ')}`);
  const missing = Object.entries(PROVIDER_KEY_VARIABLES).filter(([, variable]) => !devVars[variable] && !forwarded.includes(variable));
  if (missing.length > 0) {
    console.log(`\nNot configured (no key in ${devVarsPath} or your shell): ${missing.map(([provider, variable]) => `${provider} (${variable})`).join(', ')}`);
  }
  console.log('\nCtrl-C stops everything.\n');
}

async function main(): Promise<void> {
  await ensurePortFree(libsqlPort, 'LIBSQL_PORT', 'sqld');
  await ensurePortFree(workerPort, 'PORT', 'the Worker');
  const { devVars, justCreated } = prepareDevVars();
  const shellKeys = shellProviderKeys(devVars);
  const forwarded = Object.keys(shellKeys);
  mkdirSync(dataDir, { recursive: true });
  if (devVars.TURSO_DATABASE_URL) {
    console.log(`Note: TURSO_DATABASE_URL in ${devVarsPath} wins over the local sqld: the Worker will use that database.`);
  }

  // sqld dying must not take the Worker down with it (completions need no database):
  // it is started again on the same port and data, and given up only when it keeps dying.
  sqld = superviseRestarts({
    name: 'sqld',
    start: () => startSqld({ dataDir, port: libsqlPort, onOutput: (line) => console.log(`[sqld] ${line}`) }),
    log: (line) => console.error(line),
    shutdown: shutdown.signal,
    onRestarted: (server) => console.error(`sqld is back on ${server.url}`),
    onGaveUp: () =>
      console.error(
        `\n✖ sqld keeps exiting (its output is above). The Worker keeps serving completions; settings answer 503 database_unavailable.\n` +
          '  Fix the cause, then stop this and run `npm start` again.\n',
      ),
    deps: defaultRuntimeDeps,
  });
  const database = await sqld.started;
  console.log(`sqld listening on ${database.url}, data in ${join(dataDir, 'sqld')}`);

  const { applied, total } = await applyMigrations({ url: database.url, authToken: undefined });
  console.log(applied > 0 ? `Applied ${applied} migration(s) (${total} in all)` : `Database schema up to date (${total} migrations)`);

  if (stopping) return;
  const url = `http://${HOST}:${workerPort}`;
  if (devMode) {
    writeForwardedVars(shellKeys);
    startWranglerDev(database.url);
  } else {
    await startMiniflare(database.url, devVars, shellKeys);
    if (stopping) return;
  }
  // Its output goes straight to the terminal, above any error this prints.
  await waitForHttp(`${url}/health`, { name: workerName, timeoutMs: WORKER_READY_TIMEOUT_MS, exited: workerExited, intervalMs: devMode ? 200 : 20 });
  printUsage(url, devVars, justCreated, forwarded);
}

main().catch((error: unknown) => {
  console.error(`\n✖ npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
