/**
 * `bridge setup`: makes (or confirms) the bridge's own Python environment with
 * mlx-lm (Metal on a Mac, CPU on Linux), the one the worker runs by default.
 * Exit code 1 with a one-paragraph explanation when it cannot.
 */
import { nodeSetupDeps } from '../python-env/node-setup-deps.ts';
import { pythonEnvLayout, type PythonEnvLayout } from '../python-env/python-env-layout.ts';
import { setupPythonEnv, type SetupDeps } from '../python-env/setup-python-env.ts';

export interface SetupIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** `env`: the bridge's environment (config.childEnv), which pip and uv run with. */
export async function runSetup(
  basePython: string,
  env: Record<string, string | undefined>,
  io: SetupIo,
  layout: PythonEnvLayout = pythonEnvLayout(),
  deps: SetupDeps = nodeSetupDeps(io.out, env),
): Promise<number> {
  const outcome = await setupPythonEnv(layout, basePython, deps);
  if (!outcome.ok) {
    io.err(outcome.message);
    return 1;
  }
  io.out(
    outcome.status === 'up-to-date'
      ? `up to date: ${outcome.python} already matches the lock (nothing to do)`
      : `ready in ${outcome.seconds.toFixed(1)} s: ${outcome.python}; the bridge uses it unless BRIDGE_PYTHON or --python says otherwise. Check with \`npm run bridge -- doctor\`.`,
  );
  return 0;
}
