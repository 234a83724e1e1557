/**
 * Builds an MlxRunner over the REAL worker script and the mlx_lm test double
 * (tests/mlx_lm on PYTHONPATH), with a scratch folder for model weights and the
 * double's call log.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { MlxRunner, type MlxRunnerOptions, type MlxStatus } from '../../../bridge/runners/mlx/mlx-runner.ts';
import type { WorkerEvent } from '../../../bridge/runners/mlx/worker-protocol.ts';

export const DOUBLE_PATH = fileURLToPath(new URL('../../mlx_lm', import.meta.url).href);
export const HUB_MODEL = 'mlx-community/Llama-3.2-3B-Instruct-4bit';

export interface MlxHarness {
  runner: MlxRunner;
  dir: string;
  logs: string[];
  statuses: MlxStatus[];
  /** Every worker event seen, across worker restarts. */
  events: WorkerEvent[];
  /** The double's recorded library calls. */
  calls(): Array<Record<string, unknown> & { call: string }>;
  /** LOCAL_MODEL_PATHS the runner got: one folder per `models` entry. */
  modelPaths: Record<string, string>;
  /** Resolves with the first worker event (from now on) that matches. */
  nextEvent<E extends WorkerEvent>(match: (event: WorkerEvent) => event is E): Promise<E>;
  close(): Promise<void>;
}

export interface DoubleModelSpec {
  /** The double's settings in config.json: reply, endless, load_error, … */
  double?: Record<string, unknown>;
  weightBytes?: number;
}

function writeModel(dir: string, name: string, model: DoubleModelSpec): string {
  const folder = path.join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ model_type: 'llama', double: model.double ?? {} }));
  writeFileSync(path.join(folder, 'model.safetensors'), Buffer.alloc(model.weightBytes ?? 64));
  return folder;
}

export function makeMlxHarness(
  options: { env?: Record<string, string>; runner?: Partial<MlxRunnerOptions>; models?: Record<string, DoubleModelSpec> } = {},
): MlxHarness {
  const dir = mkdtempSync(path.join(tmpdir(), 'mlx-runner-'));
  const modelPaths: Record<string, string> = {};
  for (const [id, spec] of Object.entries(options.models ?? {})) modelPaths[id] = writeModel(dir, id.replaceAll('/', '_'), spec);
  const logFile = path.join(dir, 'double-calls.jsonl');
  const logs: string[] = [];
  const statuses: MlxStatus[] = [];
  const events: WorkerEvent[] = [];
  const waiters = new Set<(event: WorkerEvent) => void>();
  let nextId = 0;
  const runner = new MlxRunner({
    python: 'python3',
    env: { PATH: process.env.PATH, PYTHONPATH: DOUBLE_PATH, MLX_DOUBLE_LOG: logFile, ...options.env },
    modelPaths,
    idleUnloadSec: 600,
    heartbeatSec: 0.1,
    generateId: () => `req-${++nextId}`,
    log: (line) => logs.push(line),
    ...options.runner,
    onStatus: (status) => {
      statuses.push(status);
      // Subscribe to each new worker so tests can watch events across restarts.
      if (status.kind === 'worker-started') {
        runner.onWorkerEvent((event) => {
          events.push(event);
          for (const waiter of [...waiters]) waiter(event);
        });
      }
    },
  });
  return {
    runner,
    dir,
    logs,
    statuses,
    events,
    calls: () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Record<string, unknown> & { call: string })
        : [],
    modelPaths,
    nextEvent(match) {
      return new Promise((resolve) => {
        const waiter = (event: WorkerEvent): void => {
          if (!match(event)) return;
          waiters.delete(waiter);
          resolve(event);
        };
        waiters.add(waiter);
      });
    },
    async close() {
      await runner.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function chat(model: string, content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

export async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

export function textOf(events: ChatEvent[]): string {
  return events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
}
