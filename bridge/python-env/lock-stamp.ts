/**
 * Whether the bridge's Python environment already matches its lock: a stamp
 * (the sha256 of the locks it was installed from) written after a successful
 * install, plus an interpreter that still starts (a Homebrew upgrade can remove
 * the Python a venv points at). Makes a second `npm install` cheap.
 */
import { createHash } from 'node:crypto';
import type { RunCommand } from './run-command.ts';

/** The stamp of an environment installed from these lock texts, in order. */
export function lockStamp(lockTexts: string[]): string {
  const hash = createHash('sha256');
  for (const text of lockTexts) hash.update(createHash('sha256').update(text).digest('hex')).update('\n');
  return hash.digest('hex');
}

/** True when the stamp on disk is `expected` and the environment's interpreter runs. */
export async function environmentIsCurrent(
  stampOnDisk: string | undefined,
  expected: string,
  python: string,
  run: RunCommand,
): Promise<boolean> {
  if (stampOnDisk?.trim() !== expected) return false;
  const probe = await run(python, ['-c', 'import sys']);
  return probe.code === 0;
}
