/**
 * The runner registry. Factories are registered by name (`mlx`, `vllm`, or a
 * runner of your own); a RunnerRegistry creates each runner lazily, once, with
 * the bridge's context, and decides which runner serves a model:
 * an explicit `models["<id>"].runner` in the config file, else a
 * LOCAL_MODEL_PATHS entry (→ mlx), else what a runner last listed, else the
 * default runner (`mlx`, which hands unknown ids to the Hub).
 */
import { GatewayError } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { BridgeConfig } from '../config.ts';
import type { MlxStatus } from './mlx/mlx-runner.ts';
import type { Runner } from './runner.ts';

export interface RunnerContext {
  config: BridgeConfig;
  deps: RuntimeDeps;
  log: (line: string) => void;
  /** Status of the MLX worker (loading, loaded, crashed), for the CLI's status lines. */
  onMlxStatus?: (status: MlxStatus) => void;
}

export type RunnerFactory = (context: RunnerContext) => Runner;

export interface RunnerRegistration {
  factory: RunnerFactory;
  /** Whether this bridge's config makes the runner usable (vLLM needs VLLM_BASE_URL). */
  enabled: (config: BridgeConfig) => boolean;
}

const registrations = new Map<string, RunnerRegistration>();

/** Registers (or replaces) the factory of runner `name`. */
export function registerRunner(name: string, factory: RunnerFactory, options: { enabled?: (config: BridgeConfig) => boolean } = {}): void {
  registrations.set(name, { factory, enabled: options.enabled ?? (() => true) });
}

/** Removes runner `name` (tests, plugins). */
export function unregisterRunner(name: string): void {
  registrations.delete(name);
}

/** Every registered runner name, in registration order. */
export function listRunners(): string[] {
  return [...registrations.keys()];
}

/** The registration of `name`; an unknown name is a clear error listing the known ones. */
export function getRunnerRegistration(name: string): RunnerRegistration {
  const registration = registrations.get(name);
  if (!registration) throw unknownRunner(name, listRunners());
  return registration;
}

function unknownRunner(name: string, known: string[]): GatewayError {
  return new GatewayError({
    status: 500,
    type: 'server_error',
    code: 'unknown_runner',
    message: `No runner named '${name}' is registered in this bridge (known: ${known.join(', ') || 'none'})`,
  });
}

/** The runner a model goes to, from config alone (`learned` holds what runners last listed). */
export function selectRunnerName(modelId: string, config: Pick<BridgeConfig, 'models' | 'modelPaths' | 'defaultRunner'>, learned?: ReadonlyMap<string, string>): string {
  const explicit = config.models[modelId]?.runner;
  if (explicit) return explicit;
  if (modelId in config.modelPaths) return 'mlx';
  return learned?.get(modelId) ?? config.defaultRunner;
}

export class RunnerRegistry {
  readonly context: RunnerContext;
  private readonly runners = new Map<string, Runner>();
  /** Model id → runner, from the last listing (e.g. what vLLM serves). */
  private readonly learned = new Map<string, string>();

  constructor(context: RunnerContext) {
    this.context = context;
  }

  /** Names of the registered runners this config enables. */
  names(): string[] {
    return listRunners().filter((name) => getRunnerRegistration(name).enabled(this.context.config));
  }

  /** The runner called `name`, created on first use. Unknown or disabled → GatewayError. */
  getRunner(name: string): Runner {
    const existing = this.runners.get(name);
    if (existing) return existing;
    const registration = getRunnerRegistration(name);
    if (!registration.enabled(this.context.config)) {
      throw new GatewayError({
        status: 503,
        type: 'service_unavailable',
        code: 'runner_unavailable',
        message: `The '${name}' runner is not configured on this bridge${name === 'vllm' ? ' (set VLLM_BASE_URL)' : ''}`,
      });
    }
    const runner = registration.factory(this.context);
    this.runners.set(name, runner);
    return runner;
  }

  /** Which runner serves `modelId`. */
  selectRunner(modelId: string): string {
    return selectRunnerName(modelId, this.context.config, this.learned);
  }

  /** Remembers which runner listed which model (explicit config still wins). */
  learn(modelId: string, runner: string): void {
    if (!this.learned.has(modelId)) this.learned.set(modelId, runner);
  }

  /** Runners created so far. */
  started(): Array<[string, Runner]> {
    return [...this.runners.entries()];
  }

  /** Cleans up every created runner (errors are logged, not thrown: shutdown must finish). */
  async closeAll(): Promise<void> {
    const runners = this.started();
    this.runners.clear();
    await Promise.all(
      runners.map(([name, runner]) =>
        runner.cleanup().catch((error: unknown) => this.context.log(`[${name}] cleanup failed: ${String(error)}`)),
      ),
    );
  }
}
