/**
 * Constrained decoding's per-token cost on the real mlx-lm: runs
 * bench/constrained-decoding.py (the worker's own llguidance processor against
 * no grammar, interleaved, medians) in the bridge's environment and reads its
 * JSON rows. Issue 13's target: with / without ≤ 1.2.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as z from 'zod';
import { pythonEnvLayout } from '../../bridge/python-env/python-env-layout.ts';
import { REPO_ROOT } from '../lib/processes.ts';

const rowSchema = z.object({ variant: z.string(), tokens: z.number(), ms_per_token: z.number(), vs_none: z.number(), processor_us_per_token: z.number().optional() });
export type ConstrainedRow = z.infer<typeof rowSchema>;

export async function measureConstrainedDecoding(rounds: number): Promise<ConstrainedRow[]> {
  const child = spawn(pythonEnvLayout().python, [join(REPO_ROOT, 'bench', 'constrained-decoding.py'), String(rounds)], { env: { PATH: process.env.PATH, PYTHONPATH: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/constrained-decoding.py exited ${code}:\n${stderr.slice(-1500)}`);
  const rows = stdout.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => rowSchema.parse(JSON.parse(line)));
  console.log('\nconstrained decoding (real mlx-lm, random weights, one JSON schema, 200 tokens), per token:');
  for (const row of rows) console.log(`  ${row.variant.padEnd(12)} ${row.ms_per_token.toFixed(3)} ms  ${row.vs_none.toFixed(2)}× vs none${row.processor_us_per_token ? `  (processor ${row.processor_us_per_token} µs)` : ''}`);
  return rows;
}
