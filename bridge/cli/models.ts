/**
 * `bridge models`: what this bridge can serve (config, LOCAL_MODEL_PATHS, the
 * Hugging Face cache, a vLLM server) and, when a bridge is running, what it
 * has loaded right now.
 */
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { BridgeModelInfo } from '../bridge-handler.ts';
import type { BridgeConfig } from '../config.ts';
import { RegistryHandler } from '../registry-handler.ts';
import { builtinRunnerFactories } from '../runners/builtin-runners.ts';
import { RunnerRegistry } from '../runners/registry.ts';
import { readBridgeState } from './bridge-state.ts';
import { formatBytes } from './format.ts';

export interface ModelsReport {
  running: boolean;
  models: BridgeModelInfo[];
}

/** The models, with states from the running bridge when there is one. */
export async function collectModels(config: BridgeConfig, log: (line: string) => void): Promise<ModelsReport> {
  const handler = new RegistryHandler(new RunnerRegistry(builtinRunnerFactories(), { config, deps: defaultRuntimeDeps, log }));
  try {
    const models = await handler.listModels();
    const state = readBridgeState(config.stateFile);
    if (!state) return { running: false, models };
    const byId = new Map(models.map((model) => [model.id, model]));
    for (const live of state.models) {
      const model: BridgeModelInfo = { id: live.id, runner: live.runner, state: live.state === 'loaded' || live.state === 'loading' ? live.state : 'available' };
      if (live.bytes !== undefined) model.bytes = live.bytes;
      byId.set(live.id, model);
    }
    return { running: true, models: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)) };
  } finally {
    await handler.close();
  }
}

/** A plain table for people. */
export function formatModels(report: ModelsReport): string[] {
  const lines = [report.running ? 'A bridge is running; states are live.' : 'No bridge is running; nothing is loaded.'];
  if (report.models.length === 0) {
    lines.push('No models configured: set LOCAL_MODEL_PATHS or the config file\'s "models", or download an mlx-community model.');
    return lines;
  }
  const rows = report.models.map((model) => [model.id, model.runner, model.state, model.bytes !== undefined ? formatBytes(model.bytes) : '']);
  const header = ['MODEL', 'RUNNER', 'STATE', 'SIZE'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
  return lines;
}
