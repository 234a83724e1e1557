// `npm run bridge`: the bridge daemon. Plain JavaScript on purpose (no type
// stripping at start): it runs dist/bridge.js, the bundle `npm install` builds
// (scripts/build-bridge.ts), when that is newer than every source it was built
// from, and bridge/cli.ts itself otherwise (a checkout edited since install),
// in this same process either way.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'bridge.js');

/** The newest modification time of a .ts file under `folder`. */
function newestSource(folder) {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs;
    return built >= newestSource(join(root, 'bridge')) && built >= newestSource(join(root, 'protocol'));
  } catch {
    return false;
  }
}

await import(pathToFileURL(bundleIsFresh() ? bundle : join(root, 'bridge', 'cli.ts')).href);
