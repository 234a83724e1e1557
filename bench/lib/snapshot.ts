/**
 * A copy of the Worker's sources taken when the run starts, which every
 * `wrangler dev` and every build of the run serves. Without it, an edit under
 * functions/ during a run makes `wrangler dev` reload the Worker (failing the
 * requests in flight), and the servers of one run could even serve different
 * versions of the code. node_modules is linked, not copied.
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

/** What the Worker bundles (functions/ imports protocol/ and db/) and what wrangler reads. */
const WORKER_SOURCES = ['functions', 'protocol', 'db', 'bench/passthrough', 'wrangler.toml', 'tsconfig.json', 'package.json'];

/** Copies the Worker's sources into `directory` and returns it. */
export function snapshotWorkerSources(directory: string): string {
  mkdirSync(directory, { recursive: true });
  for (const source of WORKER_SOURCES) cpSync(join(REPO_ROOT, source), join(directory, source), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(directory, 'node_modules'), 'dir');
  return directory;
}
