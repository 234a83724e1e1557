/**
 * The runners every bridge has: `mlx` (the default) and `vllm` (enabled by
 * VLLM_BASE_URL). Importing this module registers them.
 */
import { MlxRunner } from './mlx/mlx-runner.ts';
import { registerRunner } from './registry.ts';
import { VllmRunner } from './vllm/vllm-runner.ts';

/** Registers `mlx` and `vllm`; safe to call more than once. */
export function registerBuiltinRunners(): void {
  registerRunner('mlx', ({ config, deps, log, onMlxStatus }) => {
    const extraModels = Object.entries(config.models)
      .filter(([, model]) => (model.runner ?? 'mlx') === 'mlx')
      .map(([id]) => id);
    return new MlxRunner({
      python: config.python,
      env: config.childEnv,
      modelPaths: config.modelPaths,
      extraModels,
      allowDownloads: config.allowDownloads,
      hfCacheDir: config.hfCacheDir,
      idleUnloadSec: config.idleUnloadSec,
      silenceTimeoutMs: config.silenceTimeoutSec * 1000,
      stallTimeoutMs: config.stallTimeoutSec * 1000,
      generateId: deps.generateId,
      sleep: deps.sleep,
      log,
      onStatus: onMlxStatus,
    });
  });
  registerRunner(
    'vllm',
    ({ config, deps, log }) => new VllmRunner({ baseUrl: config.vllmBaseUrl ?? '', apiKey: config.vllmApiKey, fetch: deps.fetch, log }),
    { enabled: (config) => config.vllmBaseUrl !== undefined },
  );
}

registerBuiltinRunners();
