/**
 * The bridge's side of the tunnel: dials `ws(s)://…/bridge/connect` with the
 * token in the Authorization header, says hello, runs requests through the
 * BridgeHandler, and keeps the link alive:
 * - reconnects with full-jitter backoff (0.5 s → 30 s), reset only after a
 *   connection that lasted STABLE_CONNECTION_MS;
 * - stops for good on an auth or policy refusal (HTTP 401/403, close 1008),
 *   on 4001 (another bridge took over) and on 4002 (protocol mismatch);
 * - pings every heartbeat and reconnects after two unanswered pings;
 * - pushes a `models` frame when the handler's model list changes;
 * - `stop()` sends goaway, lets running requests finish within drainMs,
 *   cancels the rest and closes 1000.
 * Closing the handler's runners is the caller's job (the CLI does it after stop()).
 */
import WebSocket, { type RawData } from 'ws';
import type { BridgeHandler, BridgeModelInfo } from '../bridge-handler.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import {
  encodeTunnelFrame,
  MAX_FRAME_BYTES,
  parseTunnelFrame,
  PING_FRAME,
  TUNNEL_CLOSE,
  TUNNEL_PROTOCOL_VERSION,
  TUNNEL_SUBPROTOCOL,
  type BridgeModel,
  type OutgoingFrame,
  type TunnelFrame,
} from '../../protocol/tunnel-frames.ts';
import { fullJitterDelay, STABLE_CONNECTION_MS } from './backoff.ts';
import { classifyEnd, type ConnectionEnd, type FatalState } from './close-policy.ts';
import { bridgeConnectUrl } from './connect-url.ts';
import { RequestScheduler, type SendFrame } from './request-scheduler.ts';
import { runRequest } from './request-runner.ts';

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
  device?: { chip?: string; memBytes?: number; recommendedWorkingSetBytes?: number };
  heartbeatMs?: number;
  /** How often to look for model list changes while connected. */
  modelsPollMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 25_000;
const MISSED_PONGS_LIMIT = 2;
const DEFAULT_MODELS_POLL_MS = 30_000;
/** Above this much unsent data, deltas are merged instead of sent one by one. */
const BACKED_UP_BYTES = 256 * 1024;
const CLOSE_WAIT_MS = 5_000;

export class BridgeClient {
  private readonly options: BridgeClientOptions;
  private readonly deps: RuntimeDeps;
  private readonly url: string;
  private readonly log: (line: string) => void;
  private readonly scheduler: RequestScheduler;
  private readonly bridgeId: string;
  private readonly stopSignal = new AbortController();
  private status: BridgeClientStatus = { state: 'idle', attempt: 0, inFlight: 0, queued: 0 };
  private socket: WebSocket | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private lastModels = '';

  constructor(options: BridgeClientOptions) {
    this.options = options;
    this.deps = { ...defaultRuntimeDeps, ...options.deps };
    this.url = bridgeConnectUrl(options.url);
    this.log = options.log ?? (() => undefined);
    this.bridgeId = options.bridgeId ?? `bridge-${this.deps.generateId().slice(0, 12)}`;
    this.scheduler = new RequestScheduler({
      maxConcurrent: options.maxConcurrent ?? 2,
      maxQueue: options.maxQueue ?? 16,
      run: (frame, signal, send) =>
        runRequest(frame, signal, send, {
          handler: options.handler,
          isBackedUp: () => (this.socket?.bufferedAmount ?? 0) > BACKED_UP_BYTES,
          log: this.log,
        }).finally(() => void this.pushModelsIfChanged()),
      onChange: () => this.update({}),
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
      const delay = fullJitterDelay(attempt, this.deps.random);
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
    return new Promise((resolve) => {
      const socket = new WebSocket(this.url, [TUNNEL_SUBPROTOCOL], {
        headers: { authorization: `Bearer ${this.options.token}` },
        maxPayload: MAX_FRAME_BYTES,
        handshakeTimeout: 15_000,
        perMessageDeflate: false,
      });
      this.socket = socket;
      let httpStatus: number | undefined;
      let welcomedAt: number | undefined;
      let missedPongs = 0;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      let modelsPoll: ReturnType<typeof setInterval> | undefined;
      const send: SendFrame = (frame) => sendOn(socket, frame);

      socket.on('unexpected-response', (_request, response) => {
        httpStatus = response.statusCode;
        response.resume();
        socket.terminate();
      });
      socket.on('error', (error) => this.log(`connection error: ${error.message}`));
      socket.on('open', () => {
        void this.sayHello(socket);
      });
      socket.on('message', (data: RawData, isBinary: boolean) => {
        missedPongs = 0;
        const frame = isBinary ? undefined : parseTunnelFrame(rawText(data));
        if (!frame?.ok) return this.log('ignored a malformed frame from the gateway');
        if (frame.frame.t === 'welcome') {
          welcomedAt = this.deps.now();
          const interval = Math.min(this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, frame.frame.heartbeatSec * 1000);
          heartbeat = setInterval(() => {
            if (missedPongs >= MISSED_PONGS_LIMIT) {
              this.log('heartbeat lost: no pong from the gateway');
              socket.terminate();
              return;
            }
            missedPongs += 1;
            sendOn(socket, PING_FRAME);
          }, interval);
          modelsPoll = setInterval(() => void this.pushModelsIfChanged(), this.options.modelsPollMs ?? DEFAULT_MODELS_POLL_MS);
          this.log(`connected to ${this.url}`);
          this.update({ state: 'connected', attempt: 0, sessionId: frame.frame.sessionId, reason: undefined });
        }
        this.onFrame(frame.frame, send);
      });
      socket.on('close', (code: number, reasonBuffer: Buffer) => {
        clearInterval(heartbeat);
        clearInterval(modelsPoll);
        if (this.socket === socket) this.socket = undefined;
        // No resume in protocol v1: the gateway has already failed these requests.
        this.scheduler.abortAll(tunnelError('bridge_offline', 'The tunnel connection closed'));
        const reason = reasonBuffer.toString() || (httpStatus ? `HTTP ${httpStatus}` : `code ${code}`);
        const stable = welcomedAt !== undefined && this.deps.now() - welcomedAt >= STABLE_CONNECTION_MS;
        resolve({ ...classifyEnd(httpStatus, code, reason), stable });
      });
    });
  }

  private async sayHello(socket: WebSocket): Promise<void> {
    let models: BridgeModelInfo[] = [];
    try {
      models = await this.options.handler.listModels();
    } catch (error) {
      this.log(`could not list models: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.lastModels = JSON.stringify(models.map(toBridgeModel));
    sendOn(socket, {
      t: 'hello',
      bridgeId: this.bridgeId,
      version: this.options.version ?? '0.1.0',
      protocols: [TUNNEL_PROTOCOL_VERSION],
      runners: this.options.handler.runners(),
      models: models.map(toBridgeModel),
      capacity: { maxConcurrent: this.options.maxConcurrent ?? 2, maxQueue: this.options.maxQueue ?? 16 },
      device: this.options.device,
    });
  }

  private onFrame(frame: TunnelFrame, send: SendFrame): void {
    switch (frame.t) {
      case 'req':
        return this.scheduler.submit(frame, send);
      case 'cancel':
        return this.scheduler.cancel(frame.id, tunnelError('cancelled', `Cancelled by the gateway (${frame.reason})`));
      case 'goaway':
        return this.log(`the gateway is going away: ${frame.reason}`);
      case 'err':
        return this.log(`the gateway reported: ${frame.message}`);
      default:
        return; // welcome (handled above), pong
    }
  }

  private async pushModelsIfChanged(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    let models: BridgeModel[];
    try {
      models = (await this.options.handler.listModels()).map(toBridgeModel);
    } catch {
      return;
    }
    const serialized = JSON.stringify(models);
    if (serialized === this.lastModels) return;
    this.lastModels = serialized;
    sendOn(socket, { t: 'models', models, runners: this.options.handler.runners() });
  }

  private async shutdown(drainMs: number): Promise<void> {
    this.stopSignal.abort();
    this.update({ state: 'stopping' });
    const socket = this.socket;
    const shuttingDown = tunnelError('bridge_offline', 'The bridge is shutting down');
    this.scheduler.close(shuttingDown);
    if (socket?.readyState === WebSocket.OPEN) {
      sendOn(socket, { t: 'goaway', reason: 'shutdown', drainMs });
      const drained = await this.within(this.scheduler.idle(), drainMs);
      if (!drained) {
        this.log(`drain time over: cancelling ${this.scheduler.inFlight} running request(s)`);
        this.scheduler.abortAll(shuttingDown);
        await this.within(this.scheduler.idle(), CLOSE_WAIT_MS);
      }
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.close(TUNNEL_CLOSE.normal, 'bridge stopped');
      if (!(await this.within(closed, CLOSE_WAIT_MS))) socket.terminate();
    } else {
      this.scheduler.abortAll(shuttingDown);
      socket?.terminate();
    }
    await this.loop;
    this.update({ state: 'stopped', sessionId: undefined, retryInMs: undefined });
  }

  /** Waits for `promise` at most `ms`; true when it settled in time. */
  private async within(promise: Promise<void>, ms: number): Promise<boolean> {
    const timeout = new AbortController();
    const timedOut = this.deps.sleep(ms, timeout.signal).then(
      () => false,
      () => true,
    );
    const settled = await Promise.race([promise.then(() => true), timedOut]);
    timeout.abort();
    return settled;
  }

  private update(change: Partial<BridgeClientStatus>): void {
    this.status = { ...this.status, ...change, inFlight: this.scheduler.inFlight, queued: this.scheduler.queued };
    this.options.onStatus?.({ ...this.status });
  }
}

function sendOn(socket: WebSocket, frame: OutgoingFrame | string): void {
  if (socket.readyState !== WebSocket.OPEN) return;
  socket.send(typeof frame === 'string' ? frame : encodeTunnelFrame(frame));
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}

function toBridgeModel(model: BridgeModelInfo): BridgeModel {
  return { id: model.id, state: model.state, runner: model.runner, ...(model.bytes === undefined ? {} : { bytes: model.bytes }) };
}
