/**
 * The `mlx` runner: MLX models through ONE supervised Python worker
 * (bridge/python/mlx_worker.py over mlx-lm). A worker that crashes or wedges
 * fails its in-flight requests with `runner_crashed`; the next request starts a
 * fresh one, so a crash never takes the bridge down (and a broken Python does
 * not spin in a restart loop).
 * The parts: worker-exchanges.ts routes events to requests, model-residency.ts
 * tracks what the worker holds, worker-chat-events.ts turns a generation into
 * ChatEvents, worker-memory.ts asks for memory figures.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { tunnelError } from '../../../protocol/tunnel-errors.ts';
import { modelOffer, modelNotOffered } from '../model-offer.ts';
import type { DeviceConfig, GenerationConfig, Runner, RunnerMemory, RunnerModelInfo } from '../runner.ts';
import { listCachedModels } from './hf-cache-models.ts';
import { ModelResidency } from './model-residency.ts';
import type { MlxStatus } from './mlx-status.ts';
import { LOAD_PROGRESS_EVERY_MS, toChatEvents, workerError } from './worker-chat-events.ts';
import { WorkerExchanges, type WorkerRequestCommand } from './worker-exchanges.ts';
import { askWorkerMemory } from './worker-memory.ts';
import { MlxWorkerProcess, type WorkerExit } from './worker-process.ts';
import type { WorkerEvent } from './worker-protocol.ts';
import { checkMlxCapabilities } from './mlx-capabilities.ts';
import { estimateContextLength, responseFormatField, templateKwargs, toolFields, toWorkerGenerationConfig, toWorkerMessages } from './worker-request.ts';

export type { MlxStatus } from './mlx-status.ts';
export { LOAD_PROGRESS_EVERY_MS } from './worker-chat-events.ts';

/** How long `cleanup` waits for the worker to unload before killing it. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

export interface MlxRunnerOptions {
  python: string;
  /** The bridge's environment for the worker (PYTHONPATH included). */
  env: Record<string, string | undefined>;
  /** LOCAL_MODEL_PATHS: model id → weights folder. */
  modelPaths: Record<string, string>;
  /** More ids this runner serves (config file `models` with runner `mlx`). */
  extraModels?: string[];
  /** BRIDGE_ALLOW_DOWNLOADS: Hub repo globs this runner may download (default none: the HF cache only). */
  allowDownloads?: string[];
  /** Hugging Face hub cache to list downloaded models from, if any. */
  hfCacheDir?: string;
  idleUnloadSec: number;
  /** BRIDGE_PROMPT_CACHE_ENTRIES: prompt caches kept per model (0: no reuse); default the worker's. */
  promptCacheEntries?: number;
  heartbeatSec?: number;
  silenceTimeoutMs?: number;
  stallTimeoutMs?: number;
  generateId: () => string;
  /** The clock for load keep-alives (injected so tests control time). */
  sleep?: RuntimeDeps['sleep'];
  log: (line: string) => void;
  onStatus?: (status: MlxStatus) => void;
}

export class MlxRunner implements Runner {
  readonly name = 'mlx';
  private readonly options: MlxRunnerOptions;
  private worker: MlxWorkerProcess | undefined;
  private readonly residency: ModelResidency;
  private readonly exchanges: WorkerExchanges;

  constructor(options: MlxRunnerOptions) {
    this.options = options;
    this.residency = new ModelResidency(options.onStatus);
    this.exchanges = new WorkerExchanges((modelId) => this.residency.settled(modelId));
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
    const command: WorkerRequestCommand = { op: 'load', id: this.options.generateId(), model_id: modelId, ...this.source(modelId) };
    if (deviceConfig?.contextLength !== undefined) command.context_length = deviceConfig.contextLength;
    for await (const event of this.exchange(command, new AbortController().signal)) {
      if (event.event === 'loaded') return;
      if (event.event === 'error') throw workerError(event.code, event.message, modelId);
    }
  }

  /** Streams one generation from the worker as ChatEvents; aborting cancels it at the next token. */
  async *generate(request: ChatRequest, generationConfig: GenerationConfig, signal: AbortSignal): AsyncIterable<ChatEvent> {
    const modelId = request.model;
    if (!modelId) throw invalidRequest('A model is required', 'model');
    const source = this.source(modelId);
    checkMlxCapabilities(request);
    const messages = toWorkerMessages(request);
    const template = templateKwargs(request);
    const command: WorkerRequestCommand = {
      op: 'generate',
      id: this.options.generateId(),
      model_id: modelId,
      ...source,
      context_length: estimateContextLength(messages, generationConfig.maxTokens),
      messages,
      ...toolFields(request),
      ...(template ? { template_kwargs: template } : {}),
      ...responseFormatField(request),
      generation_config: toWorkerGenerationConfig(generationConfig, request),
    };
    yield* toChatEvents(this.exchange(command, signal), modelId, signal, {
      everyMs: LOAD_PROGRESS_EVERY_MS,
      sleep: this.options.sleep ?? defaultRuntimeDeps.sleep,
    });
  }

  /** LOCAL_MODEL_PATHS entries, configured ids and downloaded Hub models, with what the worker holds. */
  async listModels(): Promise<RunnerModelInfo[]> {
    const ids = new Set<string>([...Object.keys(this.options.modelPaths), ...(this.options.extraModels ?? [])]);
    if (this.options.hfCacheDir) for (const id of await listCachedModels(this.options.hfCacheDir)) ids.add(id);
    return this.residency.list(ids);
  }

  /** MLX's memory figures from the worker; empty while no worker runs. */
  async memory(): Promise<RunnerMemory> {
    const worker = this.worker;
    if (!worker?.isAlive) return {};
    return askWorkerMemory(worker, this.options.generateId());
  }

  /** Unloads every model (freeing MLX's cache) and stops the worker. */
  async cleanup(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker?.isAlive) await worker.shutdown(SHUTDOWN_TIMEOUT_MS);
  }

  /** Where the worker finds `modelId` (model-offer.ts); a model this bridge does not offer throws before any load. */
  private source(modelId: string): { path: string } | { download: boolean } {
    const { modelPaths, extraModels = [], allowDownloads = [] } = this.options;
    const offer = modelOffer(modelId, { modelPaths, configured: extraModels, allowDownloads });
    if (offer === undefined) throw modelNotOffered(modelId);
    return offer.source === 'path' ? { path: offer.path } : { download: offer.source === 'hub' };
  }

  /** One command's events from the current worker (started if none runs); see WorkerExchanges.run. */
  private exchange(command: WorkerRequestCommand, signal: AbortSignal): AsyncGenerator<WorkerEvent> {
    return this.exchanges.run(() => this.ensureWorker(), command, signal);
  }

  private ensureWorker(): MlxWorkerProcess {
    if (this.worker?.isAlive) return this.worker;
    const options = this.options;
    const worker = new MlxWorkerProcess({
      python: options.python,
      env: options.env,
      heartbeatSec: options.heartbeatSec ?? 1,
      idleUnloadSec: options.idleUnloadSec,
      promptCacheEntries: options.promptCacheEntries,
      silenceTimeoutMs: options.silenceTimeoutMs ?? 30_000,
      stallTimeoutMs: options.stallTimeoutMs ?? 120_000,
      log: options.log,
    });
    this.worker = worker;
    this.residency.clear();
    options.onStatus?.({ kind: 'worker-started', pid: worker.pid });
    worker.onEvent((event) => this.route(event));
    void worker.exited.then((exit) => this.onExit(worker, exit));
    return worker;
  }

  private route(event: WorkerEvent): void {
    if (event.event === 'ready') {
      this.options.onStatus?.({
        kind: 'worker-ready',
        mlxLmVersion: event.mlx_lm_version,
        mlxVersion: event.mlx_version,
        ...(event.recommended_working_set_bytes == null ? {} : { recommendedWorkingSetBytes: event.recommended_working_set_bytes }),
      });
    } else if (event.event === 'fatal') {
      this.options.log(`[mlx] the worker cannot run: ${event.message}`);
    }
    this.residency.observe(event, (requestId) => this.exchanges.modelOf(requestId));
    this.exchanges.deliver(event);
  }

  private onExit(worker: MlxWorkerProcess, exit: WorkerExit): void {
    if (this.worker === worker) this.worker = undefined;
    this.residency.clear();
    const error =
      exit.reason === 'spawn_failed' || exit.reason === 'fatal'
        ? tunnelError('load_failed', `The MLX worker could not start: ${exit.message}. Run \`npm run bridge -- doctor\`.`)
        : tunnelError('runner_crashed', `The MLX worker stopped: ${exit.message}`);
    const failedRequests = this.exchanges.failAll(error);
    this.options.onStatus?.({ kind: 'worker-exited', exit, failedRequests });
  }
}
