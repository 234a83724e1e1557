/** Percentiles and the side-by-side table the benchmarks print. */

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

/** Nearest-rank percentile of already sorted samples. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), mean };
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} ms` : 'n/a';
}

export function ratio(value: number, base: number): string {
  return Number.isFinite(value) && base > 0 ? `${(value / base).toFixed(2)}×` : 'n/a';
}

/** Prints rows of `name: p50 p99 (ratio to the first row)`. */
export function printTable(title: string, rows: Array<{ name: string; summary: Summary }>): void {
  console.log(`\n${title}`);
  const base = rows[0]?.summary.p50 ?? Number.NaN;
  const width = Math.max(...rows.map((row) => row.name.length));
  for (const row of rows) {
    const { p50, p99 } = row.summary;
    console.log(`  ${row.name.padEnd(width)}  p50 ${ms(p50).padStart(10)}  p99 ${ms(p99).padStart(10)}  p50 ${ratio(p50, base)} of ${rows[0]?.name}`);
  }
}

/**
 * Runs `targets` interleaved (round robin, `rounds` times), so drift on a busy
 * machine hits every target alike. Returns the samples per target.
 */
export async function interleaved(
  targets: Array<{ name: string; run: () => Promise<number> }>,
  rounds: number,
  warmup = 20,
): Promise<Map<string, number[]>> {
  for (let i = 0; i < warmup; i++) for (const target of targets) await target.run();
  const samples = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  for (let i = 0; i < rounds; i++) {
    for (const target of targets) samples.get(target.name)?.push(await target.run());
  }
  return samples;
}
