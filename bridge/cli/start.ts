/**
 * `bridge start`: the daemon in the foreground. Connects the registry's
 * handler to the gateway through BridgeClient, prints status lines
 * (connection, models, each request, model loading with a progress line),
 * records what it serves for `bridge models`, and on SIGTERM/SIGINT drains,
 * unloads the models and exits.
 */
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { BridgeConfig } from '../config.ts';
import { BridgeClient, type BridgeClientStatus } from '../connection/bridge-client.ts';
import { RegistryHandler } from '../registry-handler.ts';
import { builtinRunnerFactories } from '../runners/builtin-runners.ts';
import { LOAD_PROGRESS_EVERY_MS, type MlxStatus } from '../runners/mlx/mlx-runner.ts';
import { RunnerRegistry } from '../runners/registry.ts';
import { removeBridgeState, writeBridgeState } from './bridge-state.ts';
import { SUPERSEDED_EXIT_CODE } from './service.ts';
import { describeDevice } from './device-info.ts';
import { clock, formatDuration } from './format.ts';
import { RequestLog } from './request-log.ts';
import { describeClientStatus, describeMlxStatus } from './status-lines.ts';

export interface StartIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves with the signal name when the process is asked to stop. */
  stopRequested: Promise<string>;
  version: string;
}

const DRAIN_MS = 10_000;
const GAVE_UP: ReadonlySet<BridgeClientStatus['state']> = new Set(['auth_failed', 'superseded', 'rejected']);

/** Runs until stopped; resolves with the process exit code. */
export async function runStart(config: BridgeConfig, io: StartIo): Promise<number> {
  if (!config.token) {
    io.err(`no bridge token: run \`npm run bridge -- login\` and paste the gateway's BRIDGE_TOKEN (stored in ${config.configPath}, mode 0600), or set BRIDGE_TOKEN`);
    return 2;
  }
  if (!config.url) {
    io.err('no gateway URL: pass --url https://<your-gateway> (or set BRIDGE_URL, or store it with `npm run bridge -- login --url URL`)');
    return 2;
  }
  const say = (line: string): void => io.out(`${clock()} ${line}`);
  const loadingSince = new Map<string, number>();
  // Known once the MLX worker has started; the client sends it with the next models frame.
  let recommendedWorkingSetBytes: number | undefined;
  const loadTicker = setInterval(() => {
    for (const [modelId, since] of loadingSince) say(`mlx: still loading ${modelId}… ${formatDuration(Date.now() - since)}`);
  }, LOAD_PROGRESS_EVERY_MS);
  loadTicker.unref();

  const onMlxStatus = (status: MlxStatus): void => {
    if (status.kind === 'worker-ready') recommendedWorkingSetBytes = status.recommendedWorkingSetBytes ?? recommendedWorkingSetBytes;
    if (status.kind === 'loading') loadingSince.set(status.modelId, Date.now());
    if (status.kind === 'loaded') loadingSince.delete(status.modelId);
    if (status.kind === 'worker-exited') loadingSince.clear();
    const line = describeMlxStatus(status);
    if (line) say(line);
    if (status.kind === 'loaded' || status.kind === 'unloaded') void recordState();
  };
  const registry = new RunnerRegistry(builtinRunnerFactories({ onMlxStatus }), { config, deps: defaultRuntimeDeps, log: (line) => io.err(line) });
  const handler = new RegistryHandler(registry);
  const url = config.url;
  let connected = false;
  let finished = false;
  // Writes are chained so that the last one wins and shutdown can wait for them.
  let recording = Promise.resolve();
  function recordState(): Promise<void> {
    recording = recording.then(async () => {
      try {
        const models = await handler.listModels();
        if (finished) return;
        writeBridgeState(config.stateFile, { pid: process.pid, url, connected, updated_at: new Date().toISOString(), models });
      } catch (error) {
        io.err(`could not record the bridge state in ${config.stateFile}: ${String(error)}`);
      }
    });
    return recording;
  }

  const models = await handler.listModels();
  say(`agent-gateway bridge ${io.version}: runners ${handler.runners().join(', ')}; ${models.length} model(s) known`);
  for (const model of models) say(`  ${model.id} (${model.runner}, ${model.state})`);
  if (models.length === 0) say('  no local models configured yet: set LOCAL_MODEL_PATHS, or allow Hub downloads with BRIDGE_ALLOW_DOWNLOADS (docs/bridge.md)');

  let gaveUp: BridgeClientStatus | undefined;
  let resolveGaveUp!: () => void;
  const gaveUpPromise = new Promise<void>((resolve) => (resolveGaveUp = resolve));
  let lastState: string | undefined;
  const client = new BridgeClient({
    url: config.url,
    token: config.token,
    handler: new RequestLog(handler, say),
    maxConcurrent: config.maxConcurrent,
    maxQueue: config.maxQueue,
    version: io.version,
    device: () => describeDevice(recommendedWorkingSetBytes),
    log: (line) => io.err(`${clock()} tunnel: ${line}`),
    onStatus: (status) => {
      if (status.state === lastState) return;
      lastState = status.state;
      connected = status.state === 'connected';
      if (status.state !== 'stopping' && status.state !== 'stopped' && status.state !== 'idle') say(describeClientStatus(status));
      void recordState();
      if (GAVE_UP.has(status.state)) {
        gaveUp = status;
        resolveGaveUp();
      }
    },
  });
  say(`connecting to ${new URL(config.url).origin}`);
  client.start();

  const signal = await Promise.race([io.stopRequested, gaveUpPromise.then(() => undefined)]);
  if (signal) say(`${signal}: stopping (running requests get ${formatDuration(DRAIN_MS)} to finish)`);
  await client.stop({ drainMs: DRAIN_MS });
  await handler.close();
  clearInterval(loadTicker);
  finished = true;
  await recording;
  removeBridgeState(config.stateFile);
  say('stopped');
  if (!gaveUp) return 0;
  // On stderr too, so a supervisor's error log says why this bridge is no longer serving.
  io.err(`${clock()} bridge exiting: ${gaveUp.reason ?? gaveUp.state}`);
  if (gaveUp.state !== 'superseded') return 1;
  // launchd restarts after any non-zero exit and has no RestartPreventExitStatus: a superseded
  // LaunchAgent exiting 3 would come back and take over from the newer bridge, in turn, forever.
  return config.supervisor === 'launchd' ? 0 : SUPERSEDED_EXIT_CODE;
}
