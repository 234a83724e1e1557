/**
 * The Worker served for real, as end-to-end suites need it: `wrangler dev` on
 * 127.0.0.1 and a free port, configured only by the `--var`s given (an empty
 * env file stands in for `.dev.vars`, so a developer's own secrets never leak
 * into a test), state under a throwaway (or the given) directory.
 *
 *   const gateway = await startGateway({ vars: { GATEWAY_API_KEY: 'k', OPENAI_API_KEY: 'sk-…' } });
 *   await fetch(`${gateway.url}/health`);
 *   await gateway.stop(); // the whole process group, nothing left behind
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnGroup, waitForHttp } from '../../scripts/process-group.ts';
import { findFreePort } from '../../scripts/sqld.ts';
import { wranglerDevArgs, wranglerDevEnv } from '../../scripts/wrangler-dev.ts';

export interface StartGatewayOptions {
  /** Worker vars and secrets, each passed as `--var NAME:value`. */
  vars: Record<string, string>;
  /** Where wrangler keeps Durable Object state; default: a fresh temp dir, deleted on stop. */
  persistDir?: string;
}

export interface RunningGateway {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Stops wrangler and every process it started; resolves when all are gone. */
  stop(): Promise<void>;
}

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const READY_TIMEOUT_MS = 60_000;

/** Starts the Worker under `wrangler dev`; resolves once GET /health answers. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-e2e-'));
  const envFile = join(scratch, 'empty.vars');
  writeFileSync(envFile, '');
  const persistDir = options.persistDir ?? join(scratch, 'state');
  const [port, inspectorPort] = [await findFreePort(), await findFreePort()];
  const args = wranglerDevArgs({ port, inspectorPort, envFiles: [envFile], persistDir, vars: options.vars });
  // Its own process group, so stop() reaches workerd too.
  const worker = spawnGroup(process.execPath, args, {
    name: 'wrangler dev',
    cwd: REPO_ROOT,
    env: wranglerDevEnv({ CI: '1' }),
    keepOutputChars: 20_000,
  });
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= worker.stop().finally(() => rmSync(scratch, { recursive: true, force: true }));
    return stopped;
  };
  try {
    await waitForHttp(`${url}/health`, { name: worker.name, timeoutMs: READY_TIMEOUT_MS, exited: worker.exited, output: worker.output });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
