/** The real file system, processes and clock for setupPythonEnv. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runCommand } from './run-command.ts';
import type { SetupDeps } from './setup-python-env.ts';

/** `env`: what pip and uv see (the caller's environment: proxies, index URLs). */
export function nodeSetupDeps(log: (line: string) => void, env: Record<string, string | undefined>): SetupDeps {
  return {
    run: runCommand,
    readText: (file) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined),
    writeText: (file, text) => writeFileSync(file, text),
    now: () => Date.now(),
    log,
    platform: process.platform,
    arch: process.arch,
    env,
  };
}
