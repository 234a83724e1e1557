/**
 * Starting what the bench measures, each in its own process group on a free
 * loopback port: the upstream, Portkey's gateway on Node, Workers served by
 * Miniflare alone, and bridge processes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { freePort, REPO_ROOT, spawnGroup, waitForHttp, type GroupProcess } from './processes.ts';

const READY_TIMEOUT_MS = 60_000;
const readySchema = z.object({ url: z.string() });
const bridgeReadySchema = z.object({ pid: z.number() });

export interface Served {
  url: string;
  process: GroupProcess;
}

/** The bench upstream (bench/upstream/serve.ts). */
export async function startUpstreamProcess(): Promise<Served> {
  const child = spawnGroup('upstream', process.execPath, ['bench/upstream/serve.ts']);
  return { url: readySchema.parse(await child.ready(READY_TIMEOUT_MS)).url, process: child };
}

/** Portkey's open-source gateway on Node, loopback only (see bench/portkey/preload.ts). */
export async function startPortkey(): Promise<Served> {
  const port = await freePort();
  const child = spawnGroup('portkey', process.execPath, [
    '--import', './bench/portkey/preload.ts',
    join('node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js'),
    `--port=${port}`,
    '--headless',
  ], { env: { NODE_ENV: 'production' } });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, child, READY_TIMEOUT_MS);
  return { url, process: child };
}

export interface CompatibilitySettings {
  compatibilityDate: string;
  compatibilityFlags: string[];
}

/** compatibility_date and compatibility_flags of a wrangler.toml (relative to `root`), so Miniflare runs the Worker as wrangler does. */
export function readCompatibility(configPath: string, root = REPO_ROOT): CompatibilitySettings {
  const text = readFileSync(join(root, configPath), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  if (!date) throw new Error(`${configPath} has no compatibility_date`);
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? '';
  return { compatibilityDate: date, compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((match) => match[1] ?? '') };
}

export interface MiniflareWorker extends CompatibilitySettings {
  name: string;
  bundle: string;
  vars: Record<string, string>;
  durableObjects?: Record<string, string>;
}

/** A bundled Worker served by Miniflare alone (bench/miniflare/serve.ts). */
export async function startMiniflare(worker: MiniflareWorker): Promise<Served> {
  const child = spawnGroup(`miniflare ${worker.name}`, process.execPath, ['bench/miniflare/serve.ts', JSON.stringify(worker)]);
  const url = readySchema.parse(await child.ready(READY_TIMEOUT_MS)).url;
  await waitForHttp(`${url}/health`, child, READY_TIMEOUT_MS);
  return { url, process: child };
}

/** A bench bridge process (bench/tunnel/bench-bridge.ts), resolved once the gateway has welcomed it. */
export async function startBenchBridge(gatewayUrl: string, token: string): Promise<{ pid: number; process: GroupProcess }> {
  const child = spawnGroup('bench bridge', process.execPath, ['bench/tunnel/bench-bridge.ts', '--url', gatewayUrl, '--token', token]);
  return { pid: bridgeReadySchema.parse(await child.ready(READY_TIMEOUT_MS)).pid, process: child };
}
