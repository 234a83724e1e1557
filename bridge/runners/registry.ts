/**
 * The runner registry: built by the CLI (`bridge/cli/start.ts`) from a list of
 * runner factories (`builtin-runners.ts` has `mlx` and `vllm`; a runner of your
 * own is one more factory in the list), it creates each runner lazily, once,
 * with the bridge's context, and decides which runner serves a model:
 * an explicit `models["<id>"].runner` in the config file, else a
 * LOCAL_MODEL_PATHS entry (→ mlx), else what a runner last listed, else the
 * default runner (`mlx`, which hands unknown ids to the Hub).
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { BridgeConfig } from '../config.ts';
import type { Runner } from './runner.ts';

export interface RunnerContext {
  config: BridgeConfig;
  deps: RuntimeDeps;
  log: (line: string) => void;
}

/** How one runner is made, and whether this bridge's config makes it usable. */
export interface RunnerFactory {
  /** Registry name: what the config file's `models["<id>"].runner` names. */
  name: string;
  create: (context: RunnerContext) => Runner;
  /** Whether the config makes the runner usable (vLLM needs VLLM_BASE_URL); default always. */
  enabled?: (config: BridgeConfig) => boolean;
}

// A config naming a runner this bridge does not have: the bridge's setup, not the caller, and a backup can serve.
function unknownRunner(name: string, known: string[]): GatewayError {
  return tunnelError('runner_unavailable', `No runner named '${name}' is registered in this bridge (known: ${known.join(', ') || 'none'})`);
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
  private readonly factories: ReadonlyMap<string, RunnerFactory>;
  private readonly runners = new Map<string, Runner>();
  /** Model id → runner, from the last listing (e.g. what vLLM serves). */
  private readonly learned = new Map<string, string>();

  /** `factories` in order of preference for listing; a later factory of the same name replaces an earlier one. */
  constructor(factories: readonly RunnerFactory[], context: RunnerContext) {
    this.factories = new Map(factories.map((factory) => [factory.name, factory]));
    this.context = context;
  }

  /** Every runner this registry knows, enabled or not. */
  known(): string[] {
    return [...this.factories.keys()];
  }

  /** Names of the runners this config enables. */
  names(): string[] {
    return this.known().filter((name) => this.isEnabled(this.factories.get(name)));
  }

  /** The runner called `name`, created on first use. Unknown or disabled → GatewayError. */
  getRunner(name: string): Runner {
    const existing = this.runners.get(name);
    if (existing) return existing;
    const factory = this.factories.get(name);
    if (!factory) throw unknownRunner(name, this.known());
    if (!this.isEnabled(factory)) {
      throw tunnelError('runner_unavailable', `The '${name}' runner is not configured on this bridge${name === 'vllm' ? ' (set VLLM_BASE_URL)' : ''}`);
    }
    const runner = factory.create(this.context);
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

  private isEnabled(factory: RunnerFactory | undefined): boolean {
    return factory !== undefined && (factory.enabled?.(this.context.config) ?? true);
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
