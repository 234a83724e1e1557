/**
 * Bridge processes for an end-to-end stack: the real CLI (`bridge/cli.ts`)
 * supervising the real Python worker over the `mlx_lm` double or over the real
 * mlx-lm (the bridge's own environment) with the tiny trained model, or the
 * scripted test bridge. Each is its own process group (scripts/process-group.ts), so
 * stopping it takes its Python worker too, and a SIGKILL to the CLI alone
 * plays a crash.
 */
import { join } from 'node:path';
import { spawnGroup, type GroupProcess } from '../../scripts/process-group.ts';
import { REPO_ROOT } from '../../scripts/sqld.ts';
import { TINY_CHAT } from '../helpers/mlx-real-engine.ts';

/** The model id the `mlx_lm` double knows (tests/mlx_lm/hub). */
export const MLX_MODEL_ID = 'mlx-community/Llama-3.2-3B-Instruct-4bit';
export const MLX_MODEL = `local/${MLX_MODEL_ID}`;

export const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');

/** LOCAL_MODEL_PATHS serving each of `modelIds` from the double's weights folder (one model, many names). */
export function localModelPaths(modelIds: readonly string[]): string {
  const weights = join(REPO_ROOT, 'tests', 'mlx_lm', 'hub', ...MLX_MODEL_ID.split('/'));
  return JSON.stringify(Object.fromEntries(modelIds.map((id) => [id, weights])));
}

/** The id the real-engine bridge serves tests/models/tiny-chat under (LOCAL_MODEL_PATHS). */
export const TINY_CHAT_ID = 'tiny-chat';
export const TINY_CHAT_MODEL = `local/${TINY_CHAT_ID}`;

export type BridgeKind = 'mlx' | 'test';

/**
 * What the mlx bridge's Python worker imports: the `tests/mlx_lm` double (on PYTHONPATH, run by
 * python3), or the real mlx-lm of the bridge's own environment (BRIDGE_PYTHON unset, as a user runs it).
 */
export type BridgeEngine = 'double' | 'real';

export interface BridgeOptions {
  /** Default: the stack's BRIDGE_TOKEN. */
  token?: string;
  /** Extra environment (e.g. MLX_DOUBLE_TOKEN_DELAY_MS, BRIDGE_MAX_CONCURRENT). */
  env?: Record<string, string>;
  /** Wait until it says it is connected (default true). */
  waitConnected?: boolean;
  /** Default 'double'. */
  engine?: BridgeEngine;
}

export interface BridgeProcess extends GroupProcess {
  readonly kind: BridgeKind;
}

/** Where a bridge connects and what it may see of this machine. */
export interface BridgeTarget {
  /** The gateway's base URL. */
  url: string;
  token: string;
  /** A home of its own: no config file, state file or Hub cache of the developer's. */
  home: string;
}

/** Spawns a bridge of `kind` for `target`; resolves once it is connected (unless told not to wait). */
export async function startBridgeProcess(kind: BridgeKind, target: BridgeTarget, options: BridgeOptions, onSpawn: (bridge: GroupProcess) => void): Promise<BridgeProcess> {
  const { home } = target;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.state'),
    HF_HOME: join(home, '.hf'),
    PYTHONDONTWRITEBYTECODE: '1',
    BRIDGE_URL: target.url,
    // The token goes by environment, not argv, as the contract allows: it never shows in `ps`.
    BRIDGE_TOKEN: options.token ?? target.token,
    ...engineEnv(options.engine ?? 'double'),
    ...options.env,
  };
  // The real engine is the bridge's default interpreter: a BRIDGE_PYTHON of the developer's would override it.
  if (options.engine === 'real' && options.env?.BRIDGE_PYTHON === undefined) delete env.BRIDGE_PYTHON;
  const args =
    kind === 'mlx'
      ? ['bridge/cli.ts', 'start']
      : ['tests/helpers/run-test-bridge.ts', '--url', target.url, '--token', env.BRIDGE_TOKEN ?? '', '--max-concurrent', options.env?.BRIDGE_MAX_CONCURRENT ?? '128'];
  const bridge = spawnGroup(NODE, args, { name: `the ${kind} bridge`, cwd: REPO_ROOT, env });
  onSpawn(bridge);
  if (options.waitConnected !== false) {
    await bridge.waitForOutput(kind === 'mlx' ? 'connected to the gateway' : '"state":"connected"');
  }
  return { ...bridge, kind };
}

/** The worker's Python side for `engine`, configured as a user with weights on disk would (LOCAL_MODEL_PATHS). */
function engineEnv(engine: BridgeEngine): NodeJS.ProcessEnv {
  if (engine === 'real') return { PYTHONPATH: '', LOCAL_MODEL_PATHS: JSON.stringify({ [TINY_CHAT_ID]: TINY_CHAT }) };
  return {
    PYTHONPATH: join(REPO_ROOT, 'tests', 'mlx_lm'),
    BRIDGE_PYTHON: process.env.BRIDGE_PYTHON ?? 'python3',
    // The double's weights folder.
    LOCAL_MODEL_PATHS: localModelPaths([MLX_MODEL_ID]),
  };
}
