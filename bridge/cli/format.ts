/** Human-readable figures for status lines. */

/** `1.8 GB`, `512 MB`, `900 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

/** `850 ms`, `3.2 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A local timestamp prefix for daemon lines: `12:03:04`. */
export function clock(now: Date = new Date()): string {
  return now.toTimeString().slice(0, 8);
}
