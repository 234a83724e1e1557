/**
 * The bridge's Python environment set-up (what `npm install` and
 * `npm run bridge -- setup` do), timed into a scratch checkout: cold (an empty
 * uv cache: every wheel downloaded from the registry) and warm (a second fresh
 * environment from the cache the cold one filled; what a re-install costs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeSetupDeps } from '../../bridge/python-env/node-setup-deps.ts';
import { pythonEnvLayout } from '../../bridge/python-env/python-env-layout.ts';
import { setupPythonEnv } from '../../bridge/python-env/setup-python-env.ts';

export interface PythonSetupResult {
  coldSeconds: number;
  warmSeconds: number;
}

export async function measurePythonSetup(basePython = process.env.BRIDGE_SETUP_PYTHON || 'python3'): Promise<PythonSetupResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-bench-setup-'));
  const env = { ...process.env, UV_CACHE_DIR: join(scratch, 'uv-cache') };
  try {
    const seconds = async (checkout: string): Promise<number> => {
      // The project's own lock, installed into a scratch environment.
      const layout = { ...pythonEnvLayout(join(scratch, checkout)), lockFile: pythonEnvLayout().lockFile };
      const outcome = await setupPythonEnv(layout, basePython, nodeSetupDeps(() => undefined, env));
      if (!outcome.ok) throw new Error(outcome.message);
      return outcome.seconds;
    };
    const coldSeconds = await seconds('cold');
    const warmSeconds = await seconds('warm');
    console.log(`\nbridge Python environment set-up: ${coldSeconds.toFixed(1)} s cold (empty package cache), ${warmSeconds.toFixed(1)} s from the cache`);
    return { coldSeconds, warmSeconds };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
