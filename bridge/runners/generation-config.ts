/**
 * The request's sampling fields resolved into a runner's GenerationConfig, with
 * the bridge's defaults for what the client left out.
 */
import { requestedMaxTokens, stopSequences, type ChatRequest } from '../../protocol/chat-request.ts';
import type { GenerationConfig } from './runner.ts';

/** Used when a request names no token limit (mlx_lm.server's own default, 512, truncates chat answers). */
export const DEFAULT_MAX_TOKENS = 4096;

/** Sampling and limits for `request`; absent fields stay absent so each runner applies its own defaults. */
export function resolveGenerationConfig(request: ChatRequest, defaultMaxTokens = DEFAULT_MAX_TOKENS): GenerationConfig {
  const config: GenerationConfig = { maxTokens: requestedMaxTokens(request) ?? defaultMaxTokens, stop: stopSequences(request) };
  if (request.temperature != null) config.temperature = request.temperature;
  if (request.top_p != null) config.topP = request.top_p;
  if (request.top_k != null) config.topK = request.top_k;
  if (request.min_p != null) config.minP = request.min_p;
  if (request.repetition_penalty != null) config.repetitionPenalty = request.repetition_penalty;
  if (request.presence_penalty != null) config.presencePenalty = request.presence_penalty;
  if (request.frequency_penalty != null) config.frequencyPenalty = request.frequency_penalty;
  if (request.seed != null) config.seed = request.seed;
  return config;
}

/** Sampling settings under their OpenAI / mlx-lm names (`top_p`, `repetition_penalty`, …), absent ones left out. */
export interface SamplingParams {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
}

/** `config`'s sampling settings under the snake_case names both the vLLM API and the MLX worker use. */
export function samplingParams(config: GenerationConfig): SamplingParams {
  const named: SamplingParams = {
    temperature: config.temperature,
    top_p: config.topP,
    top_k: config.topK,
    min_p: config.minP,
    repetition_penalty: config.repetitionPenalty,
    presence_penalty: config.presencePenalty,
    frequency_penalty: config.frequencyPenalty,
    seed: config.seed,
  };
  const out: SamplingParams = {};
  for (const key of Object.keys(named) as Array<keyof SamplingParams>) {
    const value = named[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
