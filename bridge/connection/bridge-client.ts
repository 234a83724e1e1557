/**
 * The bridge's side of the tunnel: dials `ws(s)://…/bridge/connect` with the
 * token in the Authorization header, says hello, runs requests through the
 * BridgeHandler, and keeps the link alive:
 * - reconnects with full-jitter backoff (0.5 s → 30 s), reset only after a
 *   connection that lasted STABLE_CONNECTION_MS;
 * - stops for good on an auth or policy refusal (HTTP 401/403, close 1008),
 *   on 4001 (another bridge took over) and on 4002 (protocol mismatch);
 * - gives up on a connection (and reconnects with backoff) when no `welcome`
 *   answers its hello within WELCOME_TIMEOUT_MS;
 * - pings every heartbeat and reconnects after two unanswered pings;
 * - answers a `req` frame it cannot read with `err bad_request` at once, so a
 *   gateway newer than the bridge never leaves a request hanging;
 * - pushes a `models` frame when the handler's model list (or the device) changes;
 * - `stop()` sends goaway, lets running requests finish within drainMs,
 *   cancels the rest and closes 1000.
 * Closing the handler's runners is the caller's job (the CLI does it after stop()).
 * This file is the lifecycle (reconnect loop, status, drain); one connection
 * is connection-attempt.ts, hello and `models` are bridge-announcer.ts, frames
 * are gateway-frames.ts and the heartbeat is heartbeat.ts.
 */
import WebSocket from 'ws';
import type { BridgeHandler } from '../bridge-handler.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { TUNNEL_CLOSE, type BridgeDevice } from '../../protocol/tunnel-frames.ts';
import { fullJitterDelayMs } from '../../protocol/time.ts';
import { RECONNECT_BACKOFF } from './backoff.ts';
import { BridgeAnnouncer } from './bridge-announcer.ts';
import type { ConnectionEnd, FatalState } from './close-policy.ts';
import { attemptConnection } from './connection-attempt.ts';
import { bridgeConnectUrl } from './connect-url.ts';
import { sendOn } from './gateway-frames.ts';
import { within } from './injected-timers.ts';
import { RequestScheduler } from './request-scheduler.ts';
import { runRequest } from './request-runner.ts';

export { WELCOME_TIMEOUT_MS } from './connection-attempt.ts';

export type BridgeClientState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopping' | 'stopped' | FatalState;

export interface BridgeClientStatus {
  state: BridgeClientState;
  /** Consecutive failed connection attempts. */
  attempt: number;
  /** While `waiting`: the delay before the next attempt. */
  retryInMs?: number;
  sessionId?: string;
  /** Why the last connection ended, or why the client gave up. */
  reason?: string;
  inFlight: number;
  queued: number;
}

export interface BridgeClientOptions {
  /** The gateway's base URL, http(s). */
  url: string;
  token: string;
  handler: BridgeHandler;
  onStatus?: (status: BridgeClientStatus) => void;
  log?: (line: string) => void;
  maxConcurrent?: number;
  maxQueue?: number;
  deps?: Partial<RuntimeDeps>;
  /** Names this bridge in `GET /v1/bridge`; a fresh id per process by default. */
  bridgeId?: string;
  /** The bridge software version reported in hello. */
  version?: string;
  /**
   * What the bridge knows of its machine, for hello (and a `models` frame when it
   * changes). A function is asked again at every hello and model poll, so figures
   * learnt later (MLX's recommended working set) reach the gateway lazily.
   */
  device?: BridgeDevice | (() => BridgeDevice | undefined);
  heartbeatMs?: number;
  /** How long to wait for `welcome` after hello before reconnecting. */
  welcomeTimeoutMs?: number;
  /** How often to look for model list changes while connected. */
  modelsPollMs?: number;
}

/** Above this much unsent data, deltas are merged instead of sent one by one. */
const BACKED_UP_BYTES = 256 * 1024;
const CLOSE_WAIT_MS = 5_000;

export class BridgeClient {
  private readonly options: BridgeClientOptions;
  private readonly deps: RuntimeDeps;
  private readonly url: string;
  private readonly log: (line: string) => void;
  private readonly scheduler: RequestScheduler;
  private readonly announcer: BridgeAnnouncer;
  private readonly stopSignal = new AbortController();
  private status: BridgeClientStatus = { state: 'idle', attempt: 0, inFlight: 0, queued: 0 };
  private socket: WebSocket | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: BridgeClientOptions) {
    this.options = options;
    this.deps = { ...defaultRuntimeDeps, ...options.deps };
    this.url = bridgeConnectUrl(options.url);
    this.log = options.log ?? (() => undefined);
    const capacity = { maxConcurrent: options.maxConcurrent ?? 2, maxQueue: options.maxQueue ?? 16 };
    this.announcer = new BridgeAnnouncer({
      handler: options.handler,
      bridgeId: options.bridgeId ?? `bridge-${this.deps.generateId().slice(0, 12)}`,
      version: options.version ?? '0.1.0',
      capacity,
      device: options.device,
      log: this.log,
    });
    this.scheduler = new RequestScheduler({
      ...capacity,
      run: (frame, signal, send) =>
        runRequest(frame, signal, send, {
          handler: options.handler,
          isBackedUp: () => (this.socket?.bufferedAmount ?? 0) > BACKED_UP_BYTES,
          log: this.log,
          sleep: this.deps.sleep,
        }).finally(() => void this.pushModelsIfChanged()),
      runnerFor: (modelId) => options.handler.runnerFor(modelId),
      log: this.log,
      onChange: () => this.update({}),
      sleep: this.deps.sleep,
    });
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run();
  }

  /** Drains and disconnects: goaway, running requests get `drainMs` to finish, then the socket closes 1000. */
  stop(options: { drainMs?: number } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.drainMs ?? 30_000);
    return this.stopping;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopSignal.signal.aborted) {
      this.update({ state: 'connecting', attempt, retryInMs: undefined });
      const outcome = await this.connectOnce();
      if (this.stopSignal.signal.aborted) break;
      if (outcome.fatal) {
        this.log(`not reconnecting: ${outcome.reason}`);
        this.update({ state: outcome.fatal, reason: outcome.reason, sessionId: undefined });
        return;
      }
      if (outcome.stable) attempt = 0;
      const delay = fullJitterDelayMs(attempt, RECONNECT_BACKOFF, this.deps.random);
      attempt += 1;
      this.log(`disconnected (${outcome.reason}); reconnecting in ${delay} ms`);
      this.update({ state: 'waiting', attempt, retryInMs: delay, reason: outcome.reason, sessionId: undefined });
      try {
        await this.deps.sleep(delay, this.stopSignal.signal);
      } catch {
        break;
      }
    }
  }

  private connectOnce(): Promise<ConnectionEnd> {
    return attemptConnection({
      url: this.url,
      token: this.options.token,
      deps: this.deps,
      log: this.log,
      scheduler: this.scheduler,
      heartbeatMs: this.options.heartbeatMs,
      welcomeTimeoutMs: this.options.welcomeTimeoutMs,
      modelsPollMs: this.options.modelsPollMs,
      onSocket: (socket) => {
        this.socket = socket;
      },
      onOpen: (socket) => void this.sayHello(socket),
      onWelcome: (sessionId) => this.update({ state: 'connected', attempt: 0, sessionId, reason: undefined }),
      onModelsPoll: () => void this.pushModelsIfChanged(),
      onClosed: (socket) => {
        if (this.socket === socket) this.socket = undefined;
      },
    });
  }

  private async sayHello(socket: WebSocket): Promise<void> {
    sendOn(socket, await this.announcer.hello());
  }

  private async pushModelsIfChanged(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const models = await this.announcer.changes();
    if (models) sendOn(socket, models);
  }

  private async shutdown(drainMs: number): Promise<void> {
    this.stopSignal.abort();
    this.update({ state: 'stopping' });
    const socket = this.socket;
    const shuttingDown = tunnelError('bridge_offline', 'The bridge is shutting down');
    this.scheduler.close(shuttingDown);
    if (socket?.readyState === WebSocket.OPEN) {
      sendOn(socket, { t: 'goaway', reason: 'shutdown', drainMs });
      const drained = await within(this.deps.sleep, this.scheduler.idle(), drainMs);
      if (!drained) {
        this.log(`drain time over: cancelling ${this.scheduler.inFlight} running request(s)`);
        this.scheduler.abortAll(shuttingDown);
        await within(this.deps.sleep, this.scheduler.idle(), CLOSE_WAIT_MS);
      }
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.close(TUNNEL_CLOSE.normal, 'bridge stopped');
      if (!(await within(this.deps.sleep, closed, CLOSE_WAIT_MS))) socket.terminate();
    } else {
      this.scheduler.abortAll(shuttingDown);
      socket?.terminate();
    }
    await this.loop;
    this.update({ state: 'stopped', sessionId: undefined, retryInMs: undefined });
  }

  private update(change: Partial<BridgeClientStatus>): void {
    this.status = { ...this.status, ...change, inFlight: this.scheduler.inFlight, queued: this.scheduler.queued };
    this.options.onStatus?.({ ...this.status });
  }
}
