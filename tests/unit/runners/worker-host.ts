/**
 * A stand-in for the bridge process in the worker lifeline tests: starts the
 * real MLX worker through MlxWorkerProcess (as the MLX runner does), asks it
 * for a long answer, and prints `{"worker_pid": N}` once the first token has
 * come back. Then it waits to be killed.
 *
 *   node tests/unit/runners/worker-host.ts   (env: PYTHONPATH with the mlx_lm double)
 */
import { MlxWorkerProcess } from '../../../bridge/runners/mlx/worker-process.ts';

const MODEL_ID = 'mlx-community/Llama-3.2-3B-Instruct-4bit';
const words = Array.from({ length: 400 }, (_, index) => `w${index}`).join(' ');

const worker = new MlxWorkerProcess({
  python: process.env.BRIDGE_PYTHON ?? 'python3',
  env: process.env,
  heartbeatSec: 0.1,
  idleUnloadSec: 600,
  silenceTimeoutMs: 60_000,
  stallTimeoutMs: 60_000,
  log: () => undefined,
});
const ready = await worker.ready;
let announced = false;
worker.onEvent((event) => {
  if (event.event !== 'delta' || announced) return;
  announced = true;
  process.stdout.write(`${JSON.stringify({ worker_pid: ready.pid })}\n`);
});
worker.send({
  op: 'generate',
  id: 'req-1',
  model_id: MODEL_ID,
  messages: [{ role: 'user', content: words }],
  generation_config: { max_tokens: 1_000, stop: [] },
});
// Kept alive by the worker's pipes until the test kills this process.
