/**
 * `node scripts/build-bridge.ts`: the bridge daemon as one JavaScript file,
 * `dist/bridge.js`, built at install (postinstall) with esbuild. Node then
 * runs it without stripping types from some hundred .ts files at every start
 * (about 17 MiB of the idle daemon's RSS, docs/benchmarks.md); `npm run bridge`
 * runs it when it is there and as fresh as its sources, else `bridge/cli.ts`.
 *
 * Every module keeps its own `import.meta.url` (the bridge finds its Python
 * worker and its package.json relative to its sources). The packages (`ws`,
 * `zod`) are bundled too, tree-shaken: loaded from node_modules, zod alone
 * brings every module of its ESM graph (its locales included), about 20 MiB.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { REPO_ROOT } from './sqld.ts';

export const BRIDGE_BUNDLE = join(REPO_ROOT, 'dist', 'bridge.js');

/** Each source's `import.meta.url` as the URL of the source itself, not of the bundle. */
const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/** Builds dist/bridge.js from bridge/cli.ts. */
export async function buildBridge(): Promise<string> {
  await build({
    entryPoints: [join(REPO_ROOT, 'bridge', 'cli.ts')],
    outfile: BRIDGE_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // ws's optional native speed-ups: absent, ws falls back to JavaScript.
    external: ['bufferutil', 'utf-8-validate'],
    // ws is CommonJS and requires Node's built-ins: give the ESM bundle a `require`.
    banner: { js: "import { createRequire as __bridgeCreateRequire } from 'node:module'; const require = __bridgeCreateRequire(import.meta.url);" },
    plugins: [ownImportMetaUrl],
    logLevel: 'warning',
    legalComments: 'none',
  });
  return BRIDGE_BUNDLE;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`bridge bundle: ${await buildBridge()}`);
}
