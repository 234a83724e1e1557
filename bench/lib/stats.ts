/** Percentiles, the interleaved runner, and the side-by-side tables the benchmarks print. */

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of already sorted samples. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** n, p50/p90/p99, mean, min and max of the samples (NaN samples are left out). */
export function summarize(samples: number[]): Summary {
  const sorted = samples.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: sorted.length > 0 ? mean : Number.NaN,
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} ms` : 'n/a';
}

/** A signed difference in ms: `+1.23 ms`. */
export function deltaMs(value: number): string {
  return Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms` : 'n/a';
}

export function ratio(value: number, base: number): string {
  return Number.isFinite(value) && base > 0 ? `${(value / base).toFixed(2)}×` : 'n/a';
}

/** Prints rows of `name: p50 p99 (p50 ratio and difference to the first row)`. */
export function printTable(title: string, rows: Array<{ name: string; summary: Summary }>): void {
  console.log(`\n${title}`);
  const base = rows[0]?.summary.p50 ?? Number.NaN;
  const width = Math.max(...rows.map((row) => row.name.length));
  for (const row of rows) {
    const { p50, p99 } = row.summary;
    const versus = row === rows[0] ? '' : `  ${ratio(p50, base).padStart(7)} (${deltaMs(p50 - base)}) vs ${rows[0]?.name}`;
    console.log(`  ${row.name.padEnd(width)}  p50 ${ms(p50).padStart(10)}  p99 ${ms(p99).padStart(10)}${versus}`);
  }
}

export interface InterleavedOptions {
  rounds: number;
  warmup: number;
  /** Stop measuring after this long (the rounds done so far count). */
  budgetMs?: number;
}

/**
 * Runs `targets` interleaved (round robin), so drift on a busy machine hits
 * every target alike. Each `run` returns one sample in ms. Returns the samples
 * per target name.
 */
export async function interleaved(
  targets: Array<{ name: string; run: () => Promise<number> }>,
  options: InterleavedOptions,
): Promise<Map<string, number[]>> {
  for (let index = 0; index < options.warmup; index++) for (const target of targets) await target.run();
  const samples = new Map<string, number[]>(targets.map((target) => [target.name, []]));
  const deadline = performance.now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  for (let index = 0; index < options.rounds && performance.now() < deadline; index++) {
    // Rotate the order each round: no target always runs right after the same neighbour.
    for (let offset = 0; offset < targets.length; offset++) {
      const target = targets[(index + offset) % targets.length];
      if (target) samples.get(target.name)?.push(await target.run());
    }
  }
  return samples;
}
