/**
 * The runner lifecycle (shaped after Ollama's LlamaServer): a runner loads
 * models, generates the normalized chat event stream, and reports what it holds.
 * The bridge forwards a runner's ChatEvents over the tunnel unchanged.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatRequest } from '../../protocol/chat-request.ts';

export interface DeviceConfig {
  /** Context length the caller wants to be able to use (KV-cache estimate). */
  contextLength?: number;
}

/** Sampling and limits, resolved from the request with the runner's defaults. */
export interface GenerationConfig {
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  stop: string[];
}

export interface RunnerModelInfo {
  /** The model id as clients name it after `local/`. */
  id: string;
  state: 'loaded' | 'loading' | 'available';
  /** Bytes of weights in memory when loaded (or on disk when known). */
  bytes?: number;
}

export interface RunnerMemory {
  activeBytes?: number;
  peakBytes?: number;
  cacheBytes?: number;
  recommendedWorkingSetBytes?: number;
}

export interface Runner {
  /** Registry name: `mlx`, `vllm`, … (also the `x-agent-provider` of what it serves). */
  readonly name: string;
  /** Makes `modelId` ready to generate; progress arrives as `progress` events of generate. */
  load(modelId: string, deviceConfig?: DeviceConfig): Promise<void>;
  /**
   * Generates for `request` (its `model` is the bare model id). Yields
   * `progress` while loading or prefilling, then deltas, then one `finish`.
   * Aborting `signal` stops generation at the next token; the iterator then
   * throws the abort reason.
   */
  generate(request: ChatRequest, generationConfig: GenerationConfig, signal: AbortSignal): AsyncIterable<ChatEvent>;
  /** Models this runner can serve, and which are loaded. */
  listModels(): Promise<RunnerModelInfo[]>;
  /** Memory figures, when the runner knows them. */
  memory(): Promise<RunnerMemory>;
  /** Unloads everything and stops child processes. */
  cleanup(): Promise<void>;
}
