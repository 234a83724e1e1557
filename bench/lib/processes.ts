/**
 * Every process the bench starts runs in its own process group and is listed
 * here, so one `stopAll()` (in a finally, on Ctrl-C, on SIGTERM) takes every
 * group down, grandchildren (workerd under wrangler) included.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signalGroup, spawnGroup as spawnProcessGroup, waitForHttp as waitForServer } from '../../scripts/process-group.ts';
import { descendantsOf } from '../../scripts/process-tree.ts';
import { findFreePort } from '../../scripts/sqld.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import { wranglerDevEnv } from '../../scripts/wrangler-dev.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface GroupProcess {
  name: string;
  child: ChildProcess;
  /** The last 20 kB of stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the first stdout line `{"ready": …}`, or rejects when the process exits first. */
  ready(timeoutMs: number): Promise<unknown>;
  /** Resolves once the process itself has exited. */
  exited: Promise<void>;
  /** SIGTERM to the group, SIGKILL after a grace period; resolves when no member is left. */
  stop(): Promise<void>;
}

const running = new Set<GroupProcess>();

/** A port nothing listens on right now (and that refuses connections until someone binds it). */
export const freePort = findFreePort;

/** Starts `command` in a new process group (scripts/process-group.ts), registered for `stopAll()`. */
export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; afterStop?: () => void } = {},
): GroupProcess {
  const readyValues: unknown[] = [];
  const readyWaiters: Array<() => void> = [];
  const group = spawnProcessGroup(command, args, {
    name,
    cwd: options.cwd ?? REPO_ROOT,
    env: wranglerDevEnv({ CI: '1', ...options.env }),
    keepOutputChars: 20_000,
    onStdoutLine: (line) => {
      const parsed = line.startsWith('{') ? safeParseJson(line) : { ok: false as const };
      if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null && 'ready' in parsed.value) {
        readyValues.push(parsed.value.ready);
        for (const wake of readyWaiters.splice(0)) wake();
      }
    },
  });
  const exited = group.exited.then(() => undefined);
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const wake of readyWaiters.splice(0)) wake();
  });
  let stopping: Promise<void> | undefined;
  const handle: GroupProcess = {
    name,
    child: group.child,
    output: group.output,
    exited,
    ready(timeoutMs) {
      return new Promise((resolveReady, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${group.output()}`)), timeoutMs);
        const check = (): void => {
          if (readyValues.length > 0) {
            clearTimeout(timer);
            resolveReady(readyValues[0]);
          } else if (gone) {
            clearTimeout(timer);
            reject(new Error(`${name} exited before it was ready:\n${group.output()}`));
          } else readyWaiters.push(check);
        };
        check();
      });
    },
    stop() {
      stopping ??= group.stop().finally(() => {
        running.delete(handle);
        options.afterStop?.();
      });
      return stopping;
    },
  };
  running.add(handle);
  return handle;
}

/** Stops every group still running. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((handle) => handle.stop()));
}

/** The process's own SIGKILL of every known group, for the last moment before exit. */
function killAllNow(): void {
  for (const handle of running) if (handle.child.pid !== undefined) signalGroup(handle.child.pid, 'SIGKILL');
}

/** Ctrl-C and SIGTERM stop every group, then exit; a second Ctrl-C kills them at once. */
export function stopEverythingOnSignals(cleanup: () => Promise<void>): void {
  let exiting = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (exiting) {
      killAllNow();
      process.exit(130);
    }
    exiting = true;
    process.stderr.write(`\n${signal}: stopping every process the bench started…\n`);
    void cleanup()
      .then(stopAll)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);
}

/** Polls `url` until it answers below 500, failing early if `owner` exits. */
export function waitForHttp(url: string, owner: GroupProcess, timeoutMs: number): Promise<void> {
  return waitForServer(url, { name: owner.name, timeoutMs, exited: owner.exited, output: owner.output, isReady: (response) => response.status < 500 });
}

/** Resident set size of the process (and its descendants) in bytes, from `ps`. */
export function rssBytes(pid: number): number {
  let total = 0;
  for (const member of [pid, ...descendantsOf(pid).map((entry) => entry.pid)]) {
    try {
      const status = readStatus(member);
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // No procfs (macOS): ps reports RSS in KiB.
    const kib = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return `VmRSS: ${kib} kB`;
  }
}

/**
 * A scratch directory for a bench script, and its cleanup (every process
 * stopped, the directory removed), also run on Ctrl-C and SIGTERM.
 */
export function scratchRun(prefix: string): { scratch: string; cleanup: () => Promise<void> } {
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  const cleanup = async (): Promise<void> => {
    await stopAll();
    rmSync(scratch, { recursive: true, force: true });
  };
  stopEverythingOnSignals(cleanup);
  return { scratch, cleanup };
}
