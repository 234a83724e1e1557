/** The real file system, processes and clock for setupPythonEnv. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runCommand } from './run-command.ts';
import type { SetupDeps } from './setup-python-env.ts';

export function nodeSetupDeps(log: (line: string) => void): SetupDeps {
  return {
    run: runCommand,
    readText: (file) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined),
    writeText: (file, text) => writeFileSync(file, text),
    now: () => Date.now(),
    log,
    platform: process.platform,
    arch: process.arch,
  };
}
