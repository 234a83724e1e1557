/**
 * One connection to the gateway, from dial to close: dials with the token in
 * the Authorization header, hands the open socket to the client for hello,
 * gives up when no `welcome` answers within the welcome timeout, then runs the
 * heartbeat and the model poll, and passes every frame on. It resolves (never
 * rejects) with how the connection ended, for the client's reconnect policy.
 */
import WebSocket, { type RawData } from 'ws';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { HANDSHAKE_TIMEOUT_MS, MAX_FRAME_BYTES, PING_FRAME, TUNNEL_SUBPROTOCOL } from '../../protocol/tunnel-frames.ts';
import { STABLE_CONNECTION_MS } from './backoff.ts';
import { classifyEnd, type ConnectionEnd } from './close-policy.ts';
import { dispatchGatewayFrame, readGatewayFrame, sendOn, type GatewayFrameContext } from './gateway-frames.ts';
import { Heartbeat, heartbeatInterval } from './heartbeat.ts';
import { after, every } from './injected-timers.ts';
import type { RequestScheduler } from './request-scheduler.ts';

/** The gateway answers hello at once; silence means it refused the hello or is stuck. */
export const WELCOME_TIMEOUT_MS = HANDSHAKE_TIMEOUT_MS;
const DEFAULT_MODELS_POLL_MS = 30_000;

export interface ConnectionAttemptOptions {
  /** The `ws(s)://…/bridge/connect` URL. */
  url: string;
  token: string;
  deps: RuntimeDeps;
  log: (line: string) => void;
  scheduler: RequestScheduler;
  heartbeatMs?: number;
  welcomeTimeoutMs?: number;
  modelsPollMs?: number;
  /** The socket just dialled: the client's current one until `onClosed`. */
  onSocket: (socket: WebSocket) => void;
  /** The socket opened: time to say hello. */
  onOpen: (socket: WebSocket) => void;
  onWelcome: (sessionId: string) => void;
  /** Every model poll interval while welcomed. */
  onModelsPoll: () => void;
  onClosed: (socket: WebSocket) => void;
}

/** Runs one connection to its end; resolves with why it ended and whether it lasted long enough to count as stable. */
export function attemptConnection(options: ConnectionAttemptOptions): Promise<ConnectionEnd> {
  const { deps, log } = options;
  return new Promise((resolve) => {
    const socket = new WebSocket(options.url, [TUNNEL_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${options.token}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 15_000,
      perMessageDeflate: false,
    });
    options.onSocket(socket);
    // Ends every timer of this connection (welcome, heartbeat, model poll) when it closes.
    const connection = new AbortController();
    let httpStatus: number | undefined;
    let welcomedAt: number | undefined;
    let endReason: string | undefined;
    const drop = (why: string): void => {
      endReason ??= why;
      log(why);
      socket.terminate();
    };
    const frames: GatewayFrameContext = { scheduler: options.scheduler, send: (frame) => sendOn(socket, frame), log };
    const heartbeat = new Heartbeat({
      sleep: deps.sleep,
      ping: () => sendOn(socket, PING_FRAME),
      onLost: () => drop('heartbeat lost: no pong from the gateway'),
    });

    socket.on('unexpected-response', (_request, response) => {
      httpStatus = response.statusCode;
      response.resume();
      socket.terminate();
    });
    socket.on('error', (error) => log(`connection error: ${error.message}`));
    socket.on('open', () => {
      options.onOpen(socket);
      const welcomeTimeoutMs = options.welcomeTimeoutMs ?? WELCOME_TIMEOUT_MS;
      void after(deps.sleep, welcomeTimeoutMs, connection.signal, () => {
        if (welcomedAt === undefined) drop(`no welcome from the gateway within ${welcomeTimeoutMs} ms`);
      });
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      heartbeat.heard();
      const frame = readGatewayFrame(data, isBinary, frames);
      if (!frame) return;
      if (frame.t === 'welcome' && welcomedAt === undefined) {
        welcomedAt = deps.now();
        heartbeat.start(heartbeatInterval(options.heartbeatMs, frame.heartbeatSec), connection.signal);
        void every(deps.sleep, options.modelsPollMs ?? DEFAULT_MODELS_POLL_MS, connection.signal, options.onModelsPoll);
        log(`connected to ${options.url}`);
        options.onWelcome(frame.sessionId);
      }
      dispatchGatewayFrame(frame, frames);
    });
    socket.on('close', (code: number, reasonBuffer: Buffer) => {
      connection.abort();
      options.onClosed(socket);
      // No resume in protocol v1: the gateway has already failed these requests.
      options.scheduler.abortAll(tunnelError('bridge_offline', 'The tunnel connection closed'));
      const reason = endReason ?? (reasonBuffer.toString() || (httpStatus ? `HTTP ${httpStatus}` : `code ${code}`));
      const stable = welcomedAt !== undefined && deps.now() - welcomedAt >= STABLE_CONNECTION_MS;
      resolve({ ...classifyEnd(httpStatus, code, reason), stable });
    });
  });
}
