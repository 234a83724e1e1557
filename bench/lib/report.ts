/**
 * What one `npm run bench` found: every figure (for the JSON file under
 * bench/results/) and every target with whether it was met (for the final
 * summary block).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

export interface TargetCheck {
  /** What is measured, e.g. "our code's p50 overhead, non-streaming (Miniflare)". */
  name: string;
  /** The target as a sentence: "≤ 1 ms". */
  target: string;
  /** The measured value, formatted. */
  value: string;
  /** null: could not be measured in this run. */
  met: boolean | null;
}

export interface BenchReport {
  startedAt: string;
  quick: boolean;
  machine: { node: string; platform: string; cpus: number; loadAverage: number[] };
  sections: Record<string, unknown>;
  targets: TargetCheck[];
  /** Sections that failed, with their error. */
  failures: Array<{ section: string; error: string }>;
  /** Lines of the final summary block, as printed. */
  summary: string[];
}

/** Adds a target check; `value` NaN means not measured. */
export function check(report: BenchReport, name: string, target: string, value: number, unit: string, met: (value: number) => boolean): void {
  const measured = Number.isFinite(value);
  report.targets.push({
    name,
    target,
    value: measured ? `${value.toFixed(unit === ' ms' || unit === '×' ? 2 : unit === ' KiB' || unit === ' µs' ? 1 : 0)}${unit}` : 'not measured',
    met: measured ? met(value) : null,
  });
}

/** Writes `bench/results/<ISO timestamp>.json` and returns its path. */
export function writeReport(report: BenchReport): string {
  const directory = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${report.startedAt.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`);
  return file;
}

/** The summary block: every target, met or not, then the failures. */
export function summaryLines(report: BenchReport): string[] {
  const lines: string[] = [];
  const width = Math.max(...report.targets.map((target) => target.name.length), 10);
  for (const target of report.targets) {
    const verdict = target.met === null ? 'NOT MEASURED' : target.met ? 'met' : 'NOT MET';
    lines.push(`${target.name.padEnd(width)}  ${target.value.padStart(14)}  target ${target.target.padEnd(12)} ${verdict}`);
  }
  for (const failure of report.failures) lines.push(`section "${failure.section}" failed: ${failure.error.split('\n')[0] ?? ''}`);
  return lines;
}
