/**
 * The BridgeHandler the tunnel connection runs requests through: it asks the
 * runner registry which runner serves a model, resolves the request's
 * sampling settings, and merges what the runners report.
 */
import type { ChatEvent } from '../protocol/chat-events.ts';
import type { ChatRequest } from '../protocol/chat-request.ts';
import { tunnelError } from '../protocol/tunnel-errors.ts';
import { modelIdProblem } from '../protocol/model-name.ts';
import type { BridgeHandler, BridgeModelInfo } from './bridge-handler.ts';
import { resolveGenerationConfig } from './runners/generation-config.ts';
import type { RunnerRegistry } from './runners/registry.ts';
import type { RunnerMemory } from './runners/runner.ts';

export class RegistryHandler implements BridgeHandler {
  readonly registry: RunnerRegistry;

  constructor(registry: RunnerRegistry) {
    this.registry = registry;
  }

  /** The runners this bridge's config enables. */
  runners(): string[] {
    return this.registry.names();
  }

  /** Every runner's models (a runner that fails to answer is logged and skipped), plus configured ones. */
  async listModels(): Promise<BridgeModelInfo[]> {
    const { config, log } = this.registry.context;
    const byId = new Map<string, BridgeModelInfo>();
    for (const name of this.runners()) {
      try {
        for (const model of await this.registry.getRunner(name).listModels()) {
          // A model explicitly given to another runner is that runner's to list.
          if (this.registry.selectRunner(model.id) !== name && (config.models[model.id]?.runner || model.id in config.modelPaths)) continue;
          this.registry.learn(model.id, name);
          if (!byId.has(model.id)) byId.set(model.id, { ...model, runner: name });
        }
      } catch (error) {
        log(`[${name}] cannot list models: ${String(error)}`);
      }
    }
    for (const id of Object.keys(config.models)) {
      const runner = this.registry.selectRunner(id);
      if (!byId.has(id) && this.runners().includes(runner)) byId.set(id, { id, state: 'available', runner });
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The runner that serves `modelId`, or undefined when that runner is not enabled here. */
  runnerFor(modelId: string): string | undefined {
    const runner = this.registry.selectRunner(modelId);
    return this.runners().includes(runner) ? runner : undefined;
  }

  /**
   * Runs the request on its runner, with `model` set to the id checked here (the
   * frame's). Not a strip: the gateway already sends that id in the body, but the
   * body crossed a process boundary and the runner loads whatever `model` says, so
   * the runner gets the id that passed `modelIdProblem`, not a second copy of it.
   */
  async *generate(modelId: string, request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    // The gateway refuses these too; the bridge does not rely on it (a gateway of another version, a bug).
    const problem = modelIdProblem(modelId);
    if (problem !== undefined) throw tunnelError('bad_request', `Invalid model id '${modelId}': it ${problem}`, { param: 'model' });
    const runner = this.registry.getRunner(this.registry.selectRunner(modelId));
    yield* runner.generate({ ...request, model: modelId }, resolveGenerationConfig(request), signal);
  }

  /** Memory across the runners started so far (only MLX reports any). */
  async memory(): Promise<RunnerMemory> {
    const total: RunnerMemory = {};
    for (const [, runner] of this.registry.started()) {
      const memory = await runner.memory();
      if (memory.activeBytes !== undefined) total.activeBytes = (total.activeBytes ?? 0) + memory.activeBytes;
      if (memory.peakBytes !== undefined) total.peakBytes = Math.max(total.peakBytes ?? 0, memory.peakBytes);
      if (memory.cacheBytes !== undefined) total.cacheBytes = (total.cacheBytes ?? 0) + memory.cacheBytes;
      if (memory.recommendedWorkingSetBytes !== undefined) total.recommendedWorkingSetBytes = memory.recommendedWorkingSetBytes;
    }
    return total;
  }

  /** Stops every runner and its child processes. */
  async close(): Promise<void> {
    await this.registry.closeAll();
  }
}
