/**
 * Models already downloaded into the Hugging Face cache (what `mlx_lm.server`
 * lists as well): `<cache>/models--<org>--<name>/snapshots/<rev>/` holding a
 * config.json and safetensors weights. A listed model is available, not loaded.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function hasWeights(snapshot: string): Promise<boolean> {
  if (!(await isFile(path.join(snapshot, 'config.json')))) return false;
  const files = await readdir(snapshot).catch(() => [] as string[]);
  return files.some((file) => file.endsWith('.safetensors'));
}

/** Repo ids (`org/name`) with a complete-looking snapshot in `cacheDir`; [] when there is no cache. */
export async function listCachedModels(cacheDir: string): Promise<string[]> {
  const entries = await readdir(cacheDir).catch(() => [] as string[]);
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.startsWith('models--')) continue;
    const id = entry.slice('models--'.length).split('--').join('/');
    const snapshots = path.join(cacheDir, entry, 'snapshots');
    const revisions = await readdir(snapshots).catch(() => [] as string[]);
    for (const revision of revisions) {
      if (await hasWeights(path.join(snapshots, revision))) {
        found.push(id);
        break;
      }
    }
  }
  return found.sort();
}
