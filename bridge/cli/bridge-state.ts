/**
 * What a running bridge serves, in a small JSON file (never the token), so
 * `bridge models` run in another terminal can say what is loaded.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { safeParseJson } from '../../protocol/validate.ts';

const stateSchema = z.object({
  pid: z.number().int(),
  url: z.string(),
  connected: z.boolean(),
  updated_at: z.string(),
  models: z.array(z.object({ id: z.string(), state: z.string(), runner: z.string(), bytes: z.number().optional() })),
});
export type BridgeState = z.infer<typeof stateSchema>;

/** Replaces the state file in one rename, so a reader never sees half of it. */
export function writeBridgeState(file: string, state: BridgeState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2));
  renameSync(temporary, file);
}

export function removeBridgeState(file: string): void {
  rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state of a bridge that is still running, or undefined. */
export function readBridgeState(file: string): BridgeState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const json = safeParseJson(text);
  const parsed = json.ok ? stateSchema.safeParse(json.value) : undefined;
  if (!parsed?.success || !isAlive(parsed.data.pid)) return undefined;
  return parsed.data;
}
