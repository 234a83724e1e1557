/**
 * `npm install`'s last steps: the bridge daemon bundled into dist/bridge.js
 * (scripts/build-bridge.ts; `npm run bridge` falls back to the sources when it
 * is missing or stale), and the bridge's own Python environment
 * (bridge/python-env), so the tests and `npm run bridge` find mlx-lm without
 * any other command. A no-op when the environment already matches the lock.
 *
 * When it cannot be made (no Python, no registry, a platform MLX does not
 * support), it prints one paragraph saying what to do and, on a developer's
 * machine, lets `npm install` succeed: the edge stack needs no Python. Under CI
 * (CI set and not "false"/"0") it fails the install instead, since the tests need
 * the environment. BRIDGE_SETUP_PYTHON names the base interpreter (default python3).
 */
import { nodeSetupDeps } from '../bridge/python-env/node-setup-deps.ts';
import { pythonEnvLayout } from '../bridge/python-env/python-env-layout.ts';
import { setupPythonEnv } from '../bridge/python-env/setup-python-env.ts';
import { buildBridge } from './build-bridge.ts';
import { missingPythonFailsInstall } from './postinstall-policy.ts';

try {
  console.log(`bridge bundle: ${await buildBridge()}`);
} catch (error) {
  // Not fatal: `npm run bridge` then runs bridge/cli.ts itself.
  console.error(`! the bridge bundle was not built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); npm run bridge runs the sources`);
}

const outcome = await setupPythonEnv(pythonEnvLayout(), process.env.BRIDGE_SETUP_PYTHON || 'python3', nodeSetupDeps((line) => console.log(`bridge python: ${line}`), process.env));
if (outcome.ok) {
  console.log(
    outcome.status === 'installed'
      ? `bridge python: ready in ${outcome.seconds.toFixed(1)} s (${outcome.python})`
      : `bridge python: up to date (${outcome.python})`,
  );
} else {
  console.error(`\n! ${outcome.message}\n`);
  if (missingPythonFailsInstall(process.env.CI)) {
    console.error('! CI is set, so this fails the install: the tests need the environment.\n');
    process.exitCode = 1;
  }
}
