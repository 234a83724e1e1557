/**
 * Which models the MLX worker holds or is loading, learnt from its events, and
 * the status lines those changes make. A fresh or exited worker holds nothing.
 */
import type { RunnerModelInfo } from '../runner.ts';
import type { MlxStatus } from './mlx-status.ts';
import type { WorkerEvent } from './worker-protocol.ts';

export class ModelResidency {
  private readonly onStatus: ((status: MlxStatus) => void) | undefined;
  private readonly loaded = new Map<string, { bytes: number }>();
  private readonly loading = new Set<string>();

  constructor(onStatus: ((status: MlxStatus) => void) | undefined) {
    this.onStatus = onStatus;
  }

  /** Forgets every model: a new worker starts empty, an exited one held nothing. */
  clear(): void {
    this.loaded.clear();
    this.loading.clear();
  }

  /** Learns from one worker event; `modelOf` names the model a request id is for. */
  observe(event: WorkerEvent, modelOf: (requestId: string) => string | undefined): void {
    switch (event.event) {
      case 'progress': {
        const modelId = event.id ? modelOf(event.id) : undefined;
        if (event.phase === 'load' && event.done === 0 && modelId !== undefined) {
          this.loading.add(modelId);
          this.onStatus?.({ kind: 'loading', modelId });
        }
        break;
      }
      case 'loaded': {
        const fresh = !this.loaded.has(event.model_id);
        this.loading.delete(event.model_id);
        this.loaded.set(event.model_id, { bytes: event.bytes });
        if (fresh) this.onStatus?.({ kind: 'loaded', modelId: event.model_id, bytes: event.bytes, loadMs: event.load_ms });
        break;
      }
      case 'unloaded':
        for (const id of event.model_ids) this.loaded.delete(id);
        if (event.model_ids.length > 0) this.onStatus?.({ kind: 'unloaded', modelIds: event.model_ids, reason: event.reason });
        break;
      default:
        break;
    }
  }

  /** A load or generation for `modelId` ended: unless the model is now held, it is no longer loading. */
  settled(modelId: string): void {
    if (!this.loaded.has(modelId)) this.loading.delete(modelId);
  }

  /** The `known` ids plus every model held or loading, sorted, each with its state. */
  list(known: Iterable<string>): RunnerModelInfo[] {
    const ids = new Set<string>(known);
    for (const id of this.loaded.keys()) ids.add(id);
    for (const id of this.loading) ids.add(id);
    return [...ids].sort().map((id) => {
      const loaded = this.loaded.get(id);
      if (loaded) return { id, state: 'loaded', bytes: loaded.bytes };
      return { id, state: this.loading.has(id) ? 'loading' : 'available' };
    });
  }
}
