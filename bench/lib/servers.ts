/**
 * Starting what the bench measures, each in its own process group on a free
 * loopback port: the upstream, Portkey's gateway on Node, Workers served by
 * Miniflare alone, and bridge processes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/** The LiteLLM proxy the bench compares with: pinned, in a venv of its own (1.110's `[proxy]` extra needs `litellm-proxy`, which PyPI does not have). */
export const LITELLM_REQUIREMENT = 'litellm[proxy]==1.80.0';
const LITELLM_VENV = join(REPO_ROOT, '.venv', 'bench-litellm');
const LITELLM_INSTALL_TIMEOUT_MS = 300_000;

/**
 * Makes sure the bench-only venv has LiteLLM (creating it and installing from
 * PyPI the first time, bounded in time); resolves with its `litellm` command or
 * with the reason it is not available.
 */
export async function ensureLiteLlm(): Promise<{ ok: true; command: string } | { ok: false; reason: string }> {
  const command = join(LITELLM_VENV, 'bin', 'litellm');
  const marker = join(LITELLM_VENV, `installed-${LITELLM_REQUIREMENT.replace(/[^A-Za-z0-9.=]/g, '_')}`);
  if (existsSync(command) && existsSync(marker)) return { ok: true, command };
  const python = process.env.PYTHON ?? 'python3';
  const steps: Array<[string, string[]]> = [
    [python, ['-m', 'venv', LITELLM_VENV]],
    [join(LITELLM_VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', LITELLM_REQUIREMENT]],
  ];
  console.log(`installing ${LITELLM_REQUIREMENT} into ${LITELLM_VENV} (once; up to ${LITELLM_INSTALL_TIMEOUT_MS / 60_000} min)…`);
  for (const [program, args] of steps) {
    const step = spawnGroup(`${program} ${args[0]}`, program, args);
    const timer = setTimeout(() => void step.stop(), LITELLM_INSTALL_TIMEOUT_MS);
    await step.exited;
    clearTimeout(timer);
    if (step.child.exitCode !== 0) {
      const last = step.output().trim().split('\n').slice(-2).join(' ').slice(0, 300);
      return { ok: false, reason: `${LITELLM_REQUIREMENT} did not install (${last || `exit ${step.child.exitCode ?? step.child.signalCode}`})` };
    }
  }
  writeFileSync(marker, '');
  return { ok: true, command };
}

/** The LiteLLM proxy in front of the bench upstream, on loopback, no database, no telemetry. */
export async function startLiteLlm(command: string, upstreamUrl: string, scratch: string): Promise<Served> {
  const port = await freePort();
  const config = join(scratch, 'litellm.yaml');
  writeFileSync(
    config,
    ['model_list:', '  - model_name: bench-model', '    litellm_params:', '      model: openai/bench-model', `      api_base: ${upstreamUrl}/v1`, '      api_key: sk-bench-litellm', ''].join('\n'),
  );
  const child = spawnGroup('litellm', command, ['--config', config, '--host', '127.0.0.1', '--port', String(port), '--num_workers', '1'], {
    cwd: scratch,
    env: { LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_TELEMETRY: 'False', NO_DOCS: 'True', LITELLM_LOG: 'ERROR' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/liveliness`, child, READY_TIMEOUT_MS);
  return { url, process: child };
}
