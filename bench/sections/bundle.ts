/**
 * Builds Workers the way `wrangler deploy` would (`--dry-run --outdir`), and
 * section 5: the gateway's minified bundle size, gzip, with its biggest inputs
 * from esbuild's metafile.
 */
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { safeParseJson } from '../../protocol/validate.ts';
import { bundleWorker } from '../../scripts/miniflare-worker.ts';
import { REPO_ROOT } from '../lib/processes.ts';

export interface BuiltWorker {
  /** The bundle's main module. */
  bundle: string;
  /** wrangler's own "Total Upload: … / gzip: …" line. */
  wranglerLine: string | undefined;
}

/** `wrangler deploy --dry-run --outdir outdir [--minify] [--metafile file]` for `configPath`, relative to `options.root` (default: the repo). */
export async function buildWorker(configPath: string, outdir: string, options: { minify?: boolean; metafile?: string; root?: string } = {}): Promise<BuiltWorker> {
  const built = await bundleWorker({ configPath, outdir, cwd: options.root ?? REPO_ROOT, minify: options.minify, metafile: options.metafile });
  return { bundle: built.bundle, wranglerLine: /Total Upload:[^\n]*/.exec(built.output)?.[0]?.trim() };
}

export interface BundleInput {
  /** An npm package name, or a folder of this repo. */
  name: string;
  /** Minified bytes it contributes to the bundle. */
  bytes: number;
  share: number;
}

export interface BundleResult {
  bytes: number;
  gzipBytes: number;
  wranglerLine: string | undefined;
  biggestInputs: BundleInput[];
}

function groupName(path: string): string {
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (packageMatch?.[1]) return packageMatch[1];
  const parts = path.replace(/^(\.\.\/)+/, '').split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.join('/');
}

/** What the metafile says each package or folder contributes to the output. */
function biggestInputs(metafile: string, bundleBytes: number): BundleInput[] {
  const parsed = safeParseJson(readFileSync(metafile, 'utf8'));
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || !('outputs' in parsed.value)) return [];
  const outputs = parsed.value.outputs as Record<string, { inputs?: Record<string, { bytesInOutput?: number }> }>;
  const output = Object.entries(outputs).find(([name]) => name.endsWith('.js'))?.[1];
  const totals = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const name = groupName(path);
    totals.set(name, (totals.get(name) ?? 0) + (input.bytesInOutput ?? 0));
  }
  return [...totals]
    .map(([name, bytes]) => ({ name, bytes, share: bytes / bundleBytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 10);
}

/** Size of a minified build (with its metafile). */
export function measureBundle(built: BuiltWorker, metafile: string): BundleResult {
  const code = readFileSync(built.bundle);
  const bytes = statSync(built.bundle).size;
  const gzipBytes = gzipSync(code, { level: 9 }).length;
  const result = { bytes, gzipBytes, wranglerLine: built.wranglerLine, biggestInputs: biggestInputs(metafile, bytes) };
  console.log(`\nWorker bundle (wrangler deploy --dry-run --minify): ${(bytes / 1024).toFixed(1)} KiB, gzip ${(gzipBytes / 1024).toFixed(1)} KiB`);
  if (built.wranglerLine) console.log(`  wrangler says: ${built.wranglerLine}`);
  console.log('  biggest inputs (minified bytes in the bundle):');
  for (const input of result.biggestInputs) {
    console.log(`    ${input.name.padEnd(32)} ${(input.bytes / 1024).toFixed(1).padStart(7)} KiB  ${(input.share * 100).toFixed(1).padStart(5)} %`);
  }
  return result;
}
