/**
 * MLX's memory figures, asked of the worker with a `stats` command. The answer
 * is best effort: a worker that does not answer within STATS_TIMEOUT_MS, or
 * exits first, gives empty figures rather than an error.
 */
import type { RunnerMemory } from '../runner.ts';
import type { MlxWorkerProcess } from './worker-process.ts';

const STATS_TIMEOUT_MS = 2_000;

/** Sends `stats` with request id `id` and resolves with the worker's figures (never rejects). */
export function askWorkerMemory(worker: MlxWorkerProcess, id: string): Promise<RunnerMemory> {
  const reply = new Promise<RunnerMemory>((resolve) => {
    const timer = setTimeout(() => done({}), STATS_TIMEOUT_MS);
    const unsubscribe = worker.onEvent((event) => {
      if (event.event !== 'stats' || event.id !== id) return;
      const memory: RunnerMemory = {
        activeBytes: event.memory.active_bytes,
        peakBytes: event.memory.peak_bytes,
        cacheBytes: event.memory.cache_bytes,
      };
      if (event.memory.recommended_working_set_bytes != null) memory.recommendedWorkingSetBytes = event.memory.recommended_working_set_bytes;
      done(memory);
    });
    void worker.exited.then(() => done({}));
    function done(memory: RunnerMemory): void {
      clearTimeout(timer);
      unsubscribe();
      resolve(memory);
    }
  });
  worker.send({ op: 'stats', id });
  return reply;
}
