/**
 * Just enough of the process table (via `ps`, the same on Linux and macOS) to
 * make sure a stopped child took its own children with it: `wrangler dev`
 * exits before the workerd processes it started are gone.
 */
import { execFileSync } from 'node:child_process';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** `ps` state; a leading `Z` is a zombie: exited, waiting to be reaped. */
  state: string;
  /** The executable's name (a full path on macOS). */
  command: string;
}

/** The process table, zombies left out: they have exited already. */
export function listProcesses(): ProcessEntry[] {
  const listing = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat=,comm='], { encoding: 'utf8' });
  const entries: ProcessEntry[] = [];
  for (const line of listing.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, pid = '', ppid = '', pgid = '', state = '', command = ''] = match;
    if (state.startsWith('Z')) continue;
    entries.push({ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), state, command: command.trim() });
  }
  return entries;
}

/** Every living descendant of `pid` (children, their children, …). */
export function descendantsOf(pid: number): ProcessEntry[] {
  const table = listProcesses();
  const found: ProcessEntry[] = [];
  const parents = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const entry of table) {
      if (parents.has(entry.ppid) && !parents.has(entry.pid)) {
        parents.add(entry.pid);
        found.push(entry);
        grew = true;
      }
    }
  }
  return found;
}

/** Which of `pids` are still running (zombies count as gone). */
export function stillRunning(pids: readonly number[]): number[] {
  if (pids.length === 0) return [];
  const wanted = new Set(pids);
  return listProcesses()
    .filter((entry) => wanted.has(entry.pid))
    .map((entry) => entry.pid);
}

/** Resolves once every one of `pids` is gone; SIGKILLs what is left after `graceMs`. */
export async function waitUntilGone(pids: readonly number[], graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  let running = stillRunning(pids);
  // No exit event exists for a process that is not our child: ask the table.
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    running = stillRunning(running);
  }
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone in the meantime.
    }
  }
}
