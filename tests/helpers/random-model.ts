/**
 * A model with the tiny chat model's shape, tokenizer and template and fresh random weights
 * (tests/models/make_random_model.py), made in a temporary folder by the bridge's own Python:
 * it knows nothing, so any structure in its answer is the constrained decoding's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MODELS_DIR, realPython } from './mlx-real-engine.ts';

export interface RandomModel {
  dir: string;
  remove(): void;
}

export function makeRandomModel(seed = 7): RandomModel {
  const parent = mkdtempSync(path.join(tmpdir(), 'random-model-'));
  const dir = path.join(parent, 'tiny-random');
  const run = spawnSync(realPython(), [path.join(MODELS_DIR, 'make_random_model.py'), dir, '--seed', String(seed)], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  if (run.status !== 0) throw new Error(`making the random model failed: ${run.stderr}`);
  return { dir, remove: () => rmSync(parent, { recursive: true, force: true }) };
}
