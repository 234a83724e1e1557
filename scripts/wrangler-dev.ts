/**
 * How every part of the project serves a Worker with `wrangler dev`: `npm start`,
 * the end-to-end suites and the bench. One command line and one environment, so
 * they cannot drift apart.
 */
import { join } from 'node:path';
import { REPO_ROOT } from './sqld.ts';

/** The wrangler CLI of this checkout, run with the project's own Node. */
export const WRANGLER_JS = join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export interface WranglerDevOptions {
  port: number;
  /** Default: wrangler picks one. */
  inspectorPort?: number;
  /** Read in order; a later file wins (`.dev.vars` after the forwarded shell keys). */
  envFiles: string[];
  persistDir: string;
  vars?: Record<string, string>;
  /** A wrangler config other than ./wrangler.toml. */
  configPath?: string;
}

/** The `wrangler dev` arguments (after the Node binary): loopback, the given ports, env files and state. */
export function wranglerDevArgs(options: WranglerDevOptions): string[] {
  return [
    WRANGLER_JS,
    'dev',
    ...(options.configPath ? ['--config', options.configPath] : []),
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    ...(options.inspectorPort === undefined ? [] : ['--inspector-port', String(options.inspectorPort)]),
    ...options.envFiles.flatMap((file) => ['--env-file', file]),
    '--persist-to', options.persistDir,
    '--show-interactive-dev-session=false',
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ];
}

/**
 * The environment wrangler runs with. The gateway never reads `request.cf`, so
 * wrangler need not fetch it from the internet (offline, that fetch prints a stack
 * trace at every start); no usage metrics are sent. Local observability is off:
 * with `[observability]` in wrangler.toml, wrangler dev otherwise records every
 * request's full URL (query string and any key a caller put there) and console
 * output in a trace store under the persist dir (`.data/wrangler/v3/observability`).
 */
export function wranglerDevEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env, WRANGLER_SEND_METRICS: 'false', X_LOCAL_OBSERVABILITY: 'false', ...extra };
}
