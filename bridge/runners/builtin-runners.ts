/**
 * The runners every bridge has: `mlx` (the default) and `vllm` (enabled by
 * VLLM_BASE_URL), as factories the CLI hands to its RunnerRegistry.
 */
import { MlxRunner, type MlxStatus } from './mlx/mlx-runner.ts';
import type { RunnerFactory } from './registry.ts';
import { VllmRunner } from './vllm/vllm-runner.ts';

/** The MLX runner; `onStatus` hears its worker's lifecycle (loading, loaded, crashed) for the CLI's status lines. */
export function mlxRunnerFactory(onStatus?: (status: MlxStatus) => void): RunnerFactory {
  return {
    name: 'mlx',
    create: ({ config, deps, log }) =>
      new MlxRunner({
        python: config.python,
        env: config.childEnv,
        modelPaths: config.modelPaths,
        // Config-file models with no runner, or runner mlx.
        extraModels: Object.entries(config.models)
          .filter(([, model]) => (model.runner ?? 'mlx') === 'mlx')
          .map(([id]) => id),
        allowDownloads: config.allowDownloads,
        hfCacheDir: config.hfCacheDir,
        idleUnloadSec: config.idleUnloadSec,
        promptCacheEntries: config.promptCacheEntries,
        silenceTimeoutMs: config.silenceTimeoutSec * 1000,
        stallTimeoutMs: config.stallTimeoutSec * 1000,
        generateId: deps.generateId,
        sleep: deps.sleep,
        log,
        onStatus,
      }),
  };
}

/** The vLLM runner: a client of the OpenAI-compatible server at VLLM_BASE_URL. */
export const vllmRunnerFactory: RunnerFactory = {
  name: 'vllm',
  create: ({ config, deps, log }) => new VllmRunner({ baseUrl: config.vllmBaseUrl ?? '', apiKey: config.vllmApiKey, fetch: deps.fetch, log }),
  enabled: (config) => config.vllmBaseUrl !== undefined,
};

/** `mlx` and `vllm`, in that order. */
export function builtinRunnerFactories(options: { onMlxStatus?: (status: MlxStatus) => void } = {}): RunnerFactory[] {
  return [mlxRunnerFactory(options.onMlxStatus), vllmRunnerFactory];
}
