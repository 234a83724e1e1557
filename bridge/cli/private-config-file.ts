/**
 * Writing the bridge's config file, which holds the bridge token: `login` and
 * `install-service` both merge their values into what is there. The file is
 * never readable by anyone else, not even for a moment: it is written under
 * another name with mode 0600 and renamed over the old one.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { safeParseJson } from '../../protocol/validate.ts';

/** The config file's JSON object as it is (for merging), or `{}` when it is missing or not an object. */
export function readConfigObject(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const json = safeParseJson(readFileSync(file, 'utf8'));
  return json.ok && typeof json.value === 'object' && json.value !== null && !Array.isArray(json.value) ? (json.value as Record<string, unknown>) : {};
}

/** Replaces `file` with `settings` as JSON, mode 0600 (its folder 0700 when this creates it). */
export function writePrivateConfig(file: string, settings: Record<string, unknown>): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    // 'wx': a file of that name that someone else made (with other permissions) is not reused.
    writeFileSync(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}
