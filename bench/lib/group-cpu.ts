/**
 * CPU time used so far by every living member of a process group, from
 * /proc/<pid>/stat (utime + stime, the process's threads included): what a
 * server (Node, or Miniflare's Node plus its workerd) spent, not wall time.
 * Linux only; elsewhere `groupCpuMicros` returns undefined and the section says so.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the project runs on

function statOf(pid: string): { pgid: number; cpuTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields count from after its ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
    return { pgid: Number(fields[2]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** µs of CPU used by the members of group `pgid` now alive; undefined without procfs. */
export function groupCpuMicros(pgid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = statOf(entry);
    if (stat?.pgid === pgid) ticks += stat.cpuTicks;
  }
  return (ticks * 1_000_000) / TICKS_PER_SECOND;
}
