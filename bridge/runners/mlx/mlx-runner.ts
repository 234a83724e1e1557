/**
 * The `mlx` runner: MLX models through ONE supervised Python worker
 * (bridge/python/mlx_worker.py over mlx-lm). A worker that crashes or wedges
 * fails its in-flight requests with `runner_crashed`; the next request starts a
 * fresh one, so a crash never takes the bridge down (and a broken Python does
 * not spin in a restart loop).
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { TUNNEL_ERROR_CODES, type TunnelErrorCode } from '../../../protocol/tunnel-frames.ts';
import { tunnelError } from '../../../protocol/tunnel-errors.ts';
import { AsyncQueue } from '../async-queue.ts';
import { withKeepAlive } from '../with-keepalive.ts';
import type { DeviceConfig, GenerationConfig, Runner, RunnerMemory, RunnerModelInfo } from '../runner.ts';
import { listCachedModels } from './hf-cache-models.ts';
import { MlxWorkerProcess, type WorkerExit } from './worker-process.ts';
import type { WorkerCommand, WorkerEvent, WorkerEventOf } from './worker-protocol.ts';
import { estimateContextLength, toWorkerGenerationConfig, toWorkerMessages } from './worker-request.ts';

/** What the runner tells the CLI (human status lines). */
export type MlxStatus =
  | { kind: 'worker-started'; pid: number | undefined }
  | { kind: 'worker-ready'; mlxLmVersion: string; mlxVersion: string; recommendedWorkingSetBytes?: number }
  | { kind: 'worker-exited'; exit: WorkerExit; failedRequests: number }
  | { kind: 'loading'; modelId: string }
  | { kind: 'loaded'; modelId: string; bytes: number; loadMs: number }
  | { kind: 'unloaded'; modelIds: string[]; reason: string };

export interface MlxRunnerOptions {
  python: string;
  /** The bridge's environment for the worker (PYTHONPATH included). */
  env: Record<string, string | undefined>;
  /** LOCAL_MODEL_PATHS: model id → weights folder. */
  modelPaths: Record<string, string>;
  /** More ids this runner serves (config file `models` with runner `mlx`). */
  extraModels?: string[];
  /** Hugging Face hub cache to list downloaded models from, if any. */
  hfCacheDir?: string;
  idleUnloadSec: number;
  heartbeatSec?: number;
  silenceTimeoutMs?: number;
  stallTimeoutMs?: number;
  /** How long `cleanup` waits for the worker to unload before killing it. */
  shutdownTimeoutMs?: number;
  scriptPath?: string;
  generateId: () => string;
  /** The clock for load keep-alives (injected so tests control time). */
  sleep?: RuntimeDeps['sleep'];
  /** While a model loads or a request waits in the worker's queue, a `progress` event at least this often (default 5 s). */
  loadProgressEveryMs?: number;
  log: (line: string) => void;
  onStatus?: (status: MlxStatus) => void;
}

const STATS_TIMEOUT_MS = 2_000;
/**
 * The worker says nothing between "load 0/1" and "loaded", which for a first
 * Hugging Face download can be minutes; the gateway's idle deadline is 30 s.
 */
export const LOAD_PROGRESS_EVERY_MS = 5_000;

function isTunnelCode(code: string): code is TunnelErrorCode {
  return (TUNNEL_ERROR_CODES as readonly string[]).includes(code);
}

/** Progress that stays true until the worker's next event: a load at its start, or a place in its queue. */
function isWaiting(event: WorkerEvent): event is WorkerEventOf<'progress'> {
  return event.event === 'progress' && ((event.phase === 'load' && event.done === 0) || event.phase === 'queued');
}

/** A worker `error` event as the GatewayError the tunnel understands. */
function workerError(code: string, message: string): GatewayError {
  if (code === 'bad_request') return invalidRequest(message);
  return tunnelError(isTunnelCode(code) ? code : 'internal', message);
}

export class MlxRunner implements Runner {
  readonly name = 'mlx';
  private readonly options: MlxRunnerOptions;
  private worker: MlxWorkerProcess | undefined;
  private readonly pending = new Map<string, AsyncQueue<WorkerEvent>>();
  private readonly loaded = new Map<string, { bytes: number }>();
  private readonly loading = new Set<string>();
  /** Request id → model id, while the request runs (to name the model in load status). */
  private readonly modelsByRequest = new Map<string, string>();

  constructor(options: MlxRunnerOptions) {
    this.options = options;
  }

  /** The worker's process id while one runs (for status output and tests). */
  workerPid(): number | undefined {
    return this.worker?.isAlive ? this.worker.pid : undefined;
  }

  /** Calls `listener` for every raw worker event of the current worker (diagnostics and tests). */
  onWorkerEvent(listener: (event: WorkerEvent) => void): () => void {
    return this.ensureWorker().onEvent(listener);
  }

  /** Loads `modelId` into the worker (memory admission included); resolves when it is ready. */
  async load(modelId: string, deviceConfig?: DeviceConfig): Promise<void> {
    const command: WorkerCommand = { op: 'load', id: this.options.generateId(), model_id: modelId, ...this.location(modelId) };
    if (deviceConfig?.contextLength !== undefined) command.context_length = deviceConfig.contextLength;
    for await (const event of this.exchange(command, new AbortController().signal)) {
      if (event.event === 'loaded') return;
      if (event.event === 'error') throw workerError(event.code, event.message);
    }
  }

  /** Streams one generation from the worker as ChatEvents; aborting cancels it at the next token. */
  async *generate(request: ChatRequest, generationConfig: GenerationConfig, signal: AbortSignal): AsyncIterable<ChatEvent> {
    const modelId = request.model;
    if (!modelId) throw invalidRequest('A model is required', 'model');
    const messages = toWorkerMessages(request);
    const command: WorkerCommand = {
      op: 'generate',
      id: this.options.generateId(),
      model_id: modelId,
      ...this.location(modelId),
      context_length: estimateContextLength(messages, generationConfig.maxTokens),
      messages,
      generation_config: toWorkerGenerationConfig(generationConfig),
    };
    // The worker says "load 0/1" or "queued" once, then nothing until the load ends or the
    // generation starts: that progress is repeated while the silence lasts.
    let waiting: WorkerEventOf<'progress'> | undefined;
    const events = withKeepAlive<WorkerEvent>(this.exchange(command, signal), {
      everyMs: this.options.loadProgressEveryMs ?? LOAD_PROGRESS_EVERY_MS,
      sleep: this.options.sleep ?? defaultRuntimeDeps.sleep,
      // Still at "0 of 1", or at the last place the worker gave: a heartbeat, not a made-up figure.
      tick: () => waiting,
    });
    for await (const event of events) {
      waiting = isWaiting(event) ? event : undefined;
      switch (event.event) {
        case 'progress':
          yield { type: 'progress', phase: event.phase, done: event.done, total: event.total };
          break;
        case 'delta':
          yield { type: 'text-delta', text: event.text };
          break;
        case 'error':
          throw workerError(event.code, event.message);
        case 'done': {
          if (event.finish_reason === 'cancelled') throw signal.reason ?? tunnelError('cancelled', 'The generation was cancelled');
          const { prompt_tokens, completion_tokens } = event.usage;
          yield {
            type: 'finish',
            finishReason: event.finish_reason,
            usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
            stats: event.stats,
          };
          return;
        }
        default:
          break;
      }
    }
  }

  /** LOCAL_MODEL_PATHS entries, configured ids and downloaded Hub models, with what the worker holds. */
  async listModels(): Promise<RunnerModelInfo[]> {
    const ids = new Set<string>([...Object.keys(this.options.modelPaths), ...(this.options.extraModels ?? [])]);
    if (this.options.hfCacheDir) for (const id of await listCachedModels(this.options.hfCacheDir)) ids.add(id);
    for (const id of this.loaded.keys()) ids.add(id);
    for (const id of this.loading) ids.add(id);
    return [...ids].sort().map((id) => {
      const loaded = this.loaded.get(id);
      if (loaded) return { id, state: 'loaded', bytes: loaded.bytes };
      return { id, state: this.loading.has(id) ? 'loading' : 'available' };
    });
  }

  /** MLX's memory figures from the worker; empty while no worker runs. */
  async memory(): Promise<RunnerMemory> {
    const worker = this.worker;
    if (!worker?.isAlive) return {};
    const id = this.options.generateId();
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

  /** Unloads every model (freeing MLX's cache) and stops the worker. */
  async cleanup(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker?.isAlive) await worker.shutdown(this.options.shutdownTimeoutMs ?? 10_000);
  }

  private location(modelId: string): { path?: string } {
    const path = this.options.modelPaths[modelId];
    return path === undefined ? {} : { path };
  }

  /**
   * Sends a command and yields the worker's events for its id until its end
   * (`loaded` for a load, `done` for a generation) or an `error`. Aborting sends `cancel` and throws the abort reason;
   * a worker exit throws `runner_crashed`.
   */
  private async *exchange(command: Extract<WorkerCommand, { op: 'load' | 'generate' }>, signal: AbortSignal): AsyncGenerator<WorkerEvent> {
    signal.throwIfAborted();
    const worker = this.ensureWorker();
    const events = new AsyncQueue<WorkerEvent>();
    this.pending.set(command.id, events);
    this.modelsByRequest.set(command.id, command.model_id);
    let finished = false;
    const onAbort = (): void => {
      worker.send({ op: 'cancel', id: command.id });
      events.fail(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (!worker.send(command)) throw tunnelError('runner_crashed', 'The MLX worker is not running');
      for await (const event of events) {
        yield event;
        const terminal = command.op === 'load' ? event.event === 'loaded' : event.event === 'done';
        if (terminal || event.event === 'error') {
          finished = true;
          return;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.pending.delete(command.id);
      const modelId = this.modelsByRequest.get(command.id);
      this.modelsByRequest.delete(command.id);
      if (modelId !== undefined && !this.loaded.has(modelId)) this.loading.delete(modelId);
      // The consumer stopped early (client gone): stop generating at the next token.
      if (!finished && !signal.aborted && worker.isAlive) worker.send({ op: 'cancel', id: command.id });
    }
  }

  private ensureWorker(): MlxWorkerProcess {
    if (this.worker?.isAlive) return this.worker;
    const options = this.options;
    const worker = new MlxWorkerProcess({
      python: options.python,
      scriptPath: options.scriptPath,
      env: options.env,
      heartbeatSec: options.heartbeatSec ?? 1,
      idleUnloadSec: options.idleUnloadSec,
      silenceTimeoutMs: options.silenceTimeoutMs ?? 30_000,
      stallTimeoutMs: options.stallTimeoutMs ?? 120_000,
      log: options.log,
    });
    this.worker = worker;
    this.loaded.clear();
    this.loading.clear();
    options.onStatus?.({ kind: 'worker-started', pid: worker.pid });
    worker.onEvent((event) => this.route(event));
    void worker.exited.then((exit) => this.onExit(worker, exit));
    return worker;
  }

  private route(event: WorkerEvent): void {
    const status = this.options.onStatus;
    switch (event.event) {
      case 'ready':
        status?.({
          kind: 'worker-ready',
          mlxLmVersion: event.mlx_lm_version,
          mlxVersion: event.mlx_version,
          ...(event.recommended_working_set_bytes == null ? {} : { recommendedWorkingSetBytes: event.recommended_working_set_bytes }),
        });
        break;
      case 'progress': {
        const modelId = event.id ? this.modelsByRequest.get(event.id) : undefined;
        if (event.phase === 'load' && event.done === 0 && modelId !== undefined) {
          this.loading.add(modelId);
          status?.({ kind: 'loading', modelId });
        }
        break;
      }
      case 'loaded': {
        const fresh = !this.loaded.has(event.model_id);
        this.loading.delete(event.model_id);
        this.loaded.set(event.model_id, { bytes: event.bytes });
        if (fresh) status?.({ kind: 'loaded', modelId: event.model_id, bytes: event.bytes, loadMs: event.load_ms });
        break;
      }
      case 'unloaded':
        for (const id of event.model_ids) this.loaded.delete(id);
        if (event.model_ids.length > 0) status?.({ kind: 'unloaded', modelIds: event.model_ids, reason: event.reason });
        break;
      case 'fatal':
        this.options.log(`[mlx] the worker cannot run: ${event.message}`);
        break;
      default:
        break;
    }
    if ('id' in event && typeof event.id === 'string') this.pending.get(event.id)?.push(event);
  }

  private onExit(worker: MlxWorkerProcess, exit: WorkerExit): void {
    if (this.worker === worker) this.worker = undefined;
    this.loaded.clear();
    this.loading.clear();
    const failed = [...this.pending.values()];
    this.pending.clear();
    const error =
      exit.reason === 'spawn_failed' || exit.reason === 'fatal'
        ? tunnelError('load_failed', `The MLX worker could not start: ${exit.message}. Run \`npm run bridge -- doctor\`.`)
        : tunnelError('runner_crashed', `The MLX worker stopped: ${exit.message}`);
    for (const events of failed) events.fail(error);
    this.options.onStatus?.({ kind: 'worker-exited', exit, failedRequests: failed.length });
  }
}
