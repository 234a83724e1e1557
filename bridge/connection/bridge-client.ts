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
 */
import WebSocket, { type RawData } from 'ws';
import type { BridgeHandler, BridgeModelInfo } from '../bridge-handler.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import {
  encodeTunnelFrame,
  isValidModelId,
  isValidRunnerName,
  MAX_FRAME_BYTES,
  parseTunnelFrame,
  PING_FRAME,
  TUNNEL_CLOSE,
  TUNNEL_PROTOCOL_VERSION,
  TUNNEL_SUBPROTOCOL,
  type BridgeDevice,
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

const DEFAULT_HEARTBEAT_MS = 25_000;
/** The gateway answers hello at once; silence means it refused the hello or is stuck. */
export const WELCOME_TIMEOUT_MS = 10_000;
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
  private lastDevice = '';
  /** Model ids and runner names already reported as unusable on the wire (logged once each). */
  private readonly refusedNames = new Set<string>();

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
          sleep: this.deps.sleep,
        }).finally(() => void this.pushModelsIfChanged()),
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
      // Ends every timer of this connection (welcome, heartbeat, model poll) when it closes.
      const connection = new AbortController();
      let httpStatus: number | undefined;
      let welcomedAt: number | undefined;
      let endReason: string | undefined;
      let missedPongs = 0;
      const send: SendFrame = (frame) => sendOn(socket, frame);
      const drop = (why: string): void => {
        endReason ??= why;
        this.log(why);
        socket.terminate();
      };

      socket.on('unexpected-response', (_request, response) => {
        httpStatus = response.statusCode;
        response.resume();
        socket.terminate();
      });
      socket.on('error', (error) => this.log(`connection error: ${error.message}`));
      socket.on('open', () => {
        void this.sayHello(socket);
        const welcomeTimeoutMs = this.options.welcomeTimeoutMs ?? WELCOME_TIMEOUT_MS;
        void this.after(welcomeTimeoutMs, connection.signal, () => {
          if (welcomedAt === undefined) drop(`no welcome from the gateway within ${welcomeTimeoutMs} ms`);
        });
      });
      socket.on('message', (data: RawData, isBinary: boolean) => {
        missedPongs = 0;
        const text = isBinary ? undefined : rawText(data);
        const frame = text === undefined ? undefined : parseTunnelFrame(text);
        if (!frame?.ok) {
          this.log('ignored a malformed frame from the gateway');
          if (text !== undefined && frame?.kind === 'shape') this.refuseUnreadableRequest(text, frame.message, send);
          return;
        }
        if (frame.frame.t === 'welcome' && welcomedAt === undefined) {
          welcomedAt = this.deps.now();
          const interval = Math.min(this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, frame.frame.heartbeatSec * 1000);
          void this.every(interval, connection.signal, () => {
            if (missedPongs >= MISSED_PONGS_LIMIT) return drop('heartbeat lost: no pong from the gateway');
            missedPongs += 1;
            sendOn(socket, PING_FRAME);
          });
          void this.every(this.options.modelsPollMs ?? DEFAULT_MODELS_POLL_MS, connection.signal, () => void this.pushModelsIfChanged());
          this.log(`connected to ${this.url}`);
          this.update({ state: 'connected', attempt: 0, sessionId: frame.frame.sessionId, reason: undefined });
        }
        this.onFrame(frame.frame, send);
      });
      socket.on('close', (code: number, reasonBuffer: Buffer) => {
        connection.abort();
        if (this.socket === socket) this.socket = undefined;
        // No resume in protocol v1: the gateway has already failed these requests.
        this.scheduler.abortAll(tunnelError('bridge_offline', 'The tunnel connection closed'));
        const reason = endReason ?? (reasonBuffer.toString() || (httpStatus ? `HTTP ${httpStatus}` : `code ${code}`));
        const stable = welcomedAt !== undefined && this.deps.now() - welcomedAt >= STABLE_CONNECTION_MS;
        resolve({ ...classifyEnd(httpStatus, code, reason), stable });
      });
    });
  }

  /** Runs `action` once after `ms` (injected clock), unless `signal` aborts first. */
  private async after(ms: number, signal: AbortSignal, action: () => void): Promise<void> {
    try {
      await this.deps.sleep(ms, signal);
    } catch {
      return;
    }
    if (!signal.aborted) action();
  }

  /** Runs `action` every `ms` (injected clock) until `signal` aborts. */
  private async every(ms: number, signal: AbortSignal, action: () => void): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.deps.sleep(ms, signal);
      } catch {
        return;
      }
      if (!signal.aborted) action();
    }
  }

  /**
   * A `req` frame this bridge cannot read (a newer gateway, a model id it refuses):
   * answered `err bad_request` at once, so the request fails fast instead of
   * waiting for its deadline. Only the failing field's path is reported.
   */
  private refuseUnreadableRequest(text: string, problem: string, send: SendFrame): void {
    const json = safeParseJson(text);
    if (!json.ok || typeof json.value !== 'object' || json.value === null) return;
    const id: unknown = 't' in json.value && json.value.t === 'req' && 'id' in json.value ? json.value.id : undefined;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) return;
    this.log(`refused request ${id}: ${problem}`);
    const where = /^invalid frame at ([\w.]+)/.exec(problem)?.[1];
    send({
      t: 'err',
      id,
      code: 'bad_request',
      message: `This bridge cannot read the request${where ? ` (${where})` : ''}; it may be older than the gateway (update the bridge)`,
      retryable: false,
    });
  }

  private async sayHello(socket: WebSocket): Promise<void> {
    let models: BridgeModelInfo[] = [];
    try {
      models = await this.options.handler.listModels();
    } catch (error) {
      this.log(`could not list models: ${error instanceof Error ? error.message : String(error)}`);
    }
    const wireModels = this.wireModels(models);
    const device = this.device();
    this.lastModels = JSON.stringify(wireModels);
    this.lastDevice = JSON.stringify(device ?? null);
    sendOn(socket, {
      t: 'hello',
      bridgeId: this.bridgeId,
      version: this.options.version ?? '0.1.0',
      protocols: [TUNNEL_PROTOCOL_VERSION],
      runners: this.wireRunners(),
      models: wireModels,
      capacity: { maxConcurrent: this.options.maxConcurrent ?? 2, maxQueue: this.options.maxQueue ?? 16 },
      device,
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
      models = this.wireModels(await this.options.handler.listModels());
    } catch {
      return;
    }
    const serialized = JSON.stringify(models);
    const device = this.device();
    const deviceSerialized = JSON.stringify(device ?? null);
    if (serialized === this.lastModels && deviceSerialized === this.lastDevice) return;
    this.lastModels = serialized;
    const deviceChanged = deviceSerialized !== this.lastDevice;
    this.lastDevice = deviceSerialized;
    sendOn(socket, { t: 'models', models, runners: this.wireRunners(), ...(deviceChanged && device ? { device } : {}) });
  }

  private device(): BridgeDevice | undefined {
    const device = this.options.device;
    try {
      return typeof device === 'function' ? device() : device;
    } catch {
      return undefined;
    }
  }

  /** The models the gateway can name: ids and runners outside the wire charset are left out (and logged once). */
  private wireModels(models: BridgeModelInfo[]): BridgeModel[] {
    return models.filter((model) => this.usable(model.id, isValidModelId, 'model id') && this.usable(model.runner, isValidRunnerName, 'runner name')).map(toBridgeModel);
  }

  private wireRunners(): string[] {
    return this.options.handler.runners().filter((name) => this.usable(name, isValidRunnerName, 'runner name'));
  }

  private usable(name: string, valid: (name: string) => boolean, what: string): boolean {
    if (valid(name)) return true;
    if (!this.refusedNames.has(name)) {
      this.refusedNames.add(name);
      this.log(`not offering ${what} ${JSON.stringify(name)}: only letters, digits and . _ - (ids also : @ + /) can travel in HTTP headers`);
    }
    return false;
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
