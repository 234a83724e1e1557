/**
 * A Worker served by Miniflare alone, with no `wrangler dev` in front: workerd
 * listens on a loopback socket bound straight to the Worker
 * (`unsafeDirectSockets`), so neither wrangler's dev proxy nor Miniflare's
 * entry Worker sits on the request path. `npm start` serves the gateway this
 * way, and the bench serves its Miniflare targets the same way
 * (bench/miniflare/serve.ts), so the two cannot drift apart.
 *
 * The bundle is what `wrangler deploy` would upload (`--dry-run --outdir`), and
 * the bindings are read from the same wrangler.toml, so the Worker runs as it
 * does in production and under `npm run dev`.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Miniflare, type MiniflareOptions } from 'miniflare';
import { spawnGroup } from './process-group.ts';
import { REPO_ROOT } from './sqld.ts';
import { WRANGLER_JS, wranglerDevEnv } from './wrangler-dev.ts';

export interface DirectWorker {
  name: string;
  /** The path of the bundle's main module (ESM). */
  bundle: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Text bindings (vars and secrets alike). */
  vars: Record<string, string>;
  /** Binding name → class exported by the bundle (SQLite storage). */
  durableObjects: Record<string, string>;
}

export interface DirectServeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free one. */
  port: number;
  /** Where Durable Object storage is kept across starts; default: in memory. */
  persistDir?: string;
  /**
   * The caller stops Miniflare itself on SIGINT, SIGTERM and SIGHUP. Miniflare's
   * own handlers exit the process at once (status 128 + signal), which would
   * leave whatever else the caller runs (sqld) behind: they are taken off.
   */
  ownSignals?: boolean;
  /** Opens workerd's inspector (Chrome DevTools protocol) there, for profiling. */
  inspectorPort?: number;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

type WorkerConfig = MiniflareOptions['workers'][number]['config'];
type Binding = NonNullable<WorkerConfig['env']>[string];

export interface ServedDirectly {
  /** `http://HOST:PORT`, the socket bound straight to the Worker. */
  url: string;
  miniflare: Miniflare;
}

/** Starts workerd with `worker` on its own socket; resolves once it listens. */
export async function serveDirectly(worker: DirectWorker, options: DirectServeOptions): Promise<ServedDirectly> {
  const host = options.host ?? '127.0.0.1';
  const mainModule = basename(worker.bundle);
  const env: Record<string, Binding> = {};
  for (const [name, value] of Object.entries(worker.vars)) env[name] = { type: 'text', value };
  for (const [binding, className] of Object.entries(worker.durableObjects)) {
    env[binding] = { type: 'durable-object', worker: worker.name, exportName: className };
  }
  const before = new Map(STOP_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const miniflare = new Miniflare({
    host,
    // Miniflare's own entry socket is not what clients use: a free port, on loopback.
    port: 0,
    logRequests: false,
    enableDevRegistry: false,
    telemetry: { enabled: false },
    ...(options.persistDir ? { resourcePersistencePath: options.persistDir } : {}),
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    workers: [
      {
        config: {
          name: worker.name,
          compatibilityDate: worker.compatibilityDate,
          compatibilityFlags: worker.compatibilityFlags,
          manifest: { mainModule, modules: { [mainModule]: { type: 'esm', contents: readFileSync(worker.bundle, 'utf8') } } },
          env,
          exports: Object.fromEntries(Object.values(worker.durableObjects).map((className) => [className, { type: 'durable-object', storage: 'sqlite' }])),
        },
        dev: { unsafeDirectSockets: [{ host, port: options.port }] },
      },
    ],
  });
  try {
    const direct = await miniflare.unsafeGetDirectURL(worker.name);
    if (options.ownSignals) {
      for (const signal of STOP_SIGNALS) {
        for (const listener of process.listeners(signal)) if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
      }
    }
    return { url: direct.origin, miniflare };
  } catch (error) {
    await miniflare.dispose().catch(() => undefined);
    throw error;
  }
}

/**
 * `wrangler deploy --dry-run --outdir outdir` for `configPath` (relative to
 * `cwd`): the bundle production would run. Resolves with its main module.
 */
export async function bundleWorker(options: { configPath: string; outdir: string; cwd?: string; minify?: boolean; metafile?: string }): Promise<{ bundle: string; output: string }> {
  rmSync(options.outdir, { recursive: true, force: true });
  const args = [WRANGLER_JS, 'deploy', '--dry-run', '--config', options.configPath, '--outdir', options.outdir];
  if (options.minify) args.push('--minify');
  if (options.metafile) args.push('--metafile', options.metafile);
  const build = spawnGroup(process.execPath, args, { name: `wrangler deploy --dry-run (${options.configPath})`, cwd: options.cwd ?? REPO_ROOT, env: wranglerDevEnv({ CI: '1' }) });
  const exit = await build.exited;
  if (exit !== 0) throw new Error(`wrangler deploy --dry-run failed for ${options.configPath}:\n${build.output().slice(-4000)}`);
  const main = readdirSync(options.outdir).find((file) => file.endsWith('.js'));
  if (!main) throw new Error(`no bundle in ${options.outdir}:\n${build.output().slice(-4000)}`);
  return { bundle: join(options.outdir, main), output: build.output() };
}

/** What wrangler.toml says the Worker is: its name, compatibility, `[vars]` and Durable Object bindings. */
export async function readWorkerConfig(configPath: string): Promise<Omit<DirectWorker, 'bundle'>> {
  // wrangler's own reader (about a second to load): the same file means the same Worker.
  const { unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig({ config: configPath });
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.vars ?? {})) vars[name] = typeof value === 'string' ? value : JSON.stringify(value);
  const durableObjects: Record<string, string> = {};
  for (const binding of config.durable_objects?.bindings ?? []) {
    if (binding.script_name) throw new Error(`${configPath}: Durable Object ${binding.name} lives in another Worker (${binding.script_name}); npm start serves one Worker`);
    durableObjects[binding.name] = binding.class_name;
  }
  if (!config.compatibility_date) throw new Error(`${configPath} has no compatibility_date`);
  return { name: config.name ?? 'worker', compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags ?? [], vars, durableObjects };
}
