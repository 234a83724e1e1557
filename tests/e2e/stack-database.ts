/**
 * The database of an end-to-end stack: a real sqld (scripts/sqld.ts), migrated,
 * that a test can SIGKILL as a crash would and bring back on the same port and
 * data.
 */
import { readFileSync } from 'node:fs';
import { applyMigrations } from '../../db/apply-migrations.ts';
import { findFreePort, startSqld, type SqldServer } from '../../scripts/sqld.ts';

/** The database of the stack: a real sqld that can be killed and brought back on the same port and data. */
export interface StackDatabase {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** Everything sqld printed, across restarts. */
  output(): string;
  /** SIGKILL: no shutdown, as a crash would. */
  kill(): Promise<void>;
  /** SIGSTOP, resolving once the kernel shows it stopped: still listening, answering nothing, as a frozen host would. */
  pause(): Promise<void>;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

/** The state letter of /proc/<pid>/stat (`T` when stopped), or undefined when the process is gone. */
function processState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  } catch {
    return undefined;
  }
}

/** Starts sqld on a free port over `dataDir` and applies the migrations. */
export async function startDatabase(dataDir: string): Promise<StackDatabase> {
  const port = await findFreePort();
  let lines = '';
  let server: SqldServer | undefined;
  const launch = async (): Promise<void> => {
    server = await startSqld({ dataDir, port, onOutput: (line) => (lines += `${line}\n`) });
  };
  await launch();
  await applyMigrations({ url: `http://127.0.0.1:${port}`, authToken: undefined });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get running() {
      return server !== undefined;
    },
    output: () => lines,
    async kill() {
      const current = server;
      server = undefined;
      if (!current) return;
      current.child.kill('SIGKILL');
      await current.exited;
    },
    async pause() {
      const pid = server?.child.pid;
      if (pid === undefined) throw new Error('sqld is not running');
      process.kill(pid, 'SIGSTOP');
      for (let poll = 0; poll < 200 && processState(pid) !== 'T'; poll++) await new Promise((resolve) => setTimeout(resolve, 5));
      if (processState(pid) !== 'T') throw new Error(`sqld (pid ${pid}) did not stop`);
    },
    resume() {
      server?.child.kill('SIGCONT');
    },
    async stop() {
      const current = server;
      server = undefined;
      await current?.stop();
    },
    start: launch,
  };
}
