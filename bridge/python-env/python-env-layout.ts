/**
 * Where the bridge's own Python environment lives and which lock it installs:
 * one virtual environment per checkout (`.venv/bridge`, git-ignored) and one
 * hashed lock per platform, next to the unpinned `requirements.in`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this module belongs to (a temp copy has its own environment). */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url).href);
export const PYTHON_ENV_DIR = fileURLToPath(new URL('.', import.meta.url).href);

/** The oldest Python the locks resolve for (numpy 2.4 needs 3.11). */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** One lock per platform the worker runs on; `uv pip compile --python-platform` target for each. */
export const LOCK_TARGETS = [
  { platform: 'darwin', arch: 'arm64', file: 'requirements-macos-arm64.lock', uvPlatform: 'aarch64-apple-darwin', backend: 'Metal' },
  { platform: 'linux', arch: 'x64', file: 'requirements-linux-x86_64.lock', uvPlatform: 'x86_64-manylinux_2_35', backend: 'CPU' },
  { platform: 'linux', arch: 'arm64', file: 'requirements-linux-aarch64.lock', uvPlatform: 'aarch64-manylinux_2_35', backend: 'CPU' },
] as const;
export type LockTarget = (typeof LOCK_TARGETS)[number];

export interface PythonEnvLayout {
  /** The virtual environment's folder. */
  venvDir: string;
  /** Its interpreter: what the worker runs by default. */
  python: string;
  /** The hash of the lock it was installed from (written last, after a successful install). */
  stampFile: string;
  /** The lock for this platform, or undefined where MLX publishes no wheels. */
  lockFile?: string;
}

/** The layout for a checkout at `root` on `platform`/`arch` (process.platform / process.arch names). */
export function pythonEnvLayout(root: string = PROJECT_ROOT, platform: string = process.platform, arch: string = process.arch): PythonEnvLayout {
  const venvDir = path.join(root, '.venv', 'bridge');
  const target = lockTarget(platform, arch);
  const layout: PythonEnvLayout = {
    venvDir,
    python: path.join(venvDir, 'bin', 'python'),
    stampFile: path.join(venvDir, 'agent-gateway-lock.sha256'),
  };
  if (target) layout.lockFile = path.join(root, 'bridge', 'python-env', target.file);
  return layout;
}

/** The lock target for a platform, if MLX runs there. */
export function lockTarget(platform: string, arch: string): LockTarget | undefined {
  return LOCK_TARGETS.find((target) => target.platform === platform && target.arch === arch);
}
