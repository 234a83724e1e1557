/**
 * A real sqld for tests: a fresh temporary data dir, a free loopback port,
 * optionally migrated; `stop()` ends the process and deletes the data,
 * `restart()` starts a new process on the same data (persistence tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSqld, type SqldServer } from '../../scripts/sqld.ts';
import { applyMigrations } from '../../db/apply-migrations.ts';

export interface TestSqld {
  /** The current process's URL (changes on restart: a new free port). */
  readonly url: string;
  readonly dataDir: string;
  /** The running process. */
  readonly server: SqldServer;
  /** Stops the process and starts a new one on the same data. */
  restart(): Promise<void>;
  /** Stops the process and deletes the data dir. */
  stop(): Promise<void>;
}

/** Starts sqld on a throwaway data dir; `migrate` applies drizzle/ first. */
export async function startTestSqld(options: { migrate?: boolean } = {}): Promise<TestSqld> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-gateway-sqld-'));
  let server = await startSqld({ dataDir });
  if (options.migrate) await applyMigrations({ url: server.url, authToken: undefined });
  return {
    get url() {
      return server.url;
    },
    get server() {
      return server;
    },
    dataDir,
    async restart() {
      await server.stop();
      server = await startSqld({ dataDir });
    },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
