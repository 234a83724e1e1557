/**
 * BRIDGE_ALLOW_DOWNLOADS: comma-separated globs of Hugging Face repo ids the
 * bridge may download (`mlx-community/*`; `*` for any). `*` matches any run of
 * characters, `/` included (so `*` alone allows every repo); everything else is
 * literal and case-sensitive, so a glob never allows more than it spells out.
 * Default: none.
 */
import { modelIdProblem } from '../protocol/model-name.ts';

const GLOB_CHARACTERS = /^[A-Za-z0-9._\-/*]+$/;

/** The globs of a BRIDGE_ALLOW_DOWNLOADS value, or the problem with one of them. */
export function parseDownloadGlobs(text: string | undefined): { ok: true; globs: string[] } | { ok: false; problem: string } {
  const globs = (text ?? '')
    .split(',')
    .map((glob) => glob.trim())
    .filter((glob) => glob !== '');
  for (const glob of globs) {
    if (!GLOB_CHARACTERS.test(glob)) return { ok: false, problem: `${JSON.stringify(glob)} may hold only letters, digits, . _ - / and *` };
    const problem = modelIdProblem(glob);
    if (problem !== undefined) return { ok: false, problem: `${JSON.stringify(glob)} ${problem}` };
  }
  return { ok: true, globs };
}

function globToRegExp(glob: string): RegExp {
  const pattern = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`);
}

/** True when one of `globs` allows downloading the Hub repo `repoId`. */
export function allowsDownload(repoId: string, globs: readonly string[]): boolean {
  return globs.some((glob) => globToRegExp(glob).test(repoId));
}
