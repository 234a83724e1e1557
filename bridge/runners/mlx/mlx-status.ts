/** What the `mlx` runner tells the CLI, for its human status lines. */
import type { WorkerExit } from './worker-process.ts';

export type MlxStatus =
  | { kind: 'worker-started'; pid: number | undefined }
  | { kind: 'worker-ready'; mlxLmVersion: string; mlxVersion: string; recommendedWorkingSetBytes?: number }
  | { kind: 'worker-exited'; exit: WorkerExit; failedRequests: number }
  | { kind: 'loading'; modelId: string }
  | { kind: 'loaded'; modelId: string; bytes: number; loadMs: number }
  | { kind: 'unloaded'; modelIds: string[]; reason: string };
