/**
 * A Worker under `wrangler dev`, started exactly the way
 * tests/helpers/start-gateway.ts starts ours (the same `wranglerDevArgs`, an
 * empty env file, state in a throwaway directory), but for any wrangler config:
 * the gateway and the pass-through Worker must be served the same way for their
 * difference to be our code's share.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wranglerDevArgs } from '../../scripts/wrangler-dev.ts';
import { freePort, REPO_ROOT, spawnGroup, waitForHttp, type GroupProcess } from './processes.ts';

export interface ServedWorker {
  /** `http://127.0.0.1:PORT` */
  url: string;
  process: GroupProcess;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;

/** Serves the Worker of `configPath` (relative to `root`, the repo or a snapshot of it) on a free loopback port. */
export async function startWranglerDev(name: string, configPath: string, vars: Record<string, string>, root = REPO_ROOT): Promise<ServedWorker> {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-bench-'));
  const envFile = join(scratch, 'empty.vars');
  writeFileSync(envFile, '');
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = wranglerDevArgs({ configPath, port, inspectorPort, envFiles: [envFile], persistDir: join(scratch, 'state'), vars });
  // The scratch directory goes with the process, however it is stopped (stopAll on Ctrl-C too).
  const child = spawnGroup(name, process.execPath, args, { cwd: root, afterStop: () => rmSync(scratch, { recursive: true, force: true }) });
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => child.stop();
  try {
    await waitForHttp(`${url}/health`, child, READY_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, process: child, stop };
}
