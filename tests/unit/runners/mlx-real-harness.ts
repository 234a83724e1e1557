/**
 * Harnesses on the REAL mlx-lm for the real-engine runner tests: the bridge's
 * own interpreter, PYTHONPATH empty (no double), the tiny models through
 * LOCAL_MODEL_PATHS.
 */
import { afterEach, beforeAll } from 'vitest';
import type { MlxRunnerOptions } from '../../../bridge/runners/mlx/mlx-runner.ts';
import { realPython, TINY_CHAT, TINY_CHAT_4BIT } from '../../helpers/mlx-real-engine.ts';
import { makeMlxHarness, type MlxHarness } from './mlx-harness.ts';

/** Registers the file's hooks (the interpreter found once, each harness closed after its test) and returns the opener. */
export function realEngineHarnesses(): (runner?: Partial<MlxRunnerOptions>) => MlxHarness {
  let python = '';
  let open: MlxHarness | undefined;
  beforeAll(() => {
    python = realPython();
  });
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });
  return (runner = {}) => {
    open = makeMlxHarness({ env: { PYTHONPATH: '' }, runner: { python, modelPaths: { 'tiny-chat': TINY_CHAT, 'tiny-chat-4bit': TINY_CHAT_4BIT }, ...runner } });
    return open;
  };
}
