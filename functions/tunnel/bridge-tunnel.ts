/**
 * BridgeTunnel: one Durable Object per user, holding the bridge's WebSocket with
 * the hibernation API and multiplexing chat requests over it by id.
 *
 * - `/connect` (already authenticated by the Worker) accepts the socket. The
 *   newest bridge wins, but only once it has said a valid hello: then the older
 *   one is closed 4001 and its requests fail. A connection that says no hello
 *   within HANDSHAKE_TIMEOUT_MS is closed 4003 (by an alarm, which survives
 *   hibernation) and replaces nothing.
 * - `/chat` sends a `req` frame and answers at once with an NDJSON stream that
 *   the frames coming back fill in (tunnel-stream-lines.ts). No bridge → a
 *   one-line 503 `bridge_offline` within milliseconds. No `ack` within
 *   ACK_TIMEOUT_MS → 503 `bridge_unresponsive`, and the bridge gets no new
 *   requests (they fail at once) until it speaks again (bridge-liveness.ts).
 * - `/status` reports the connection and the last-seen models (kept in storage).
 *
 * Heartbeats (`{"t":"ping"}`) are answered by the runtime's auto-response, so an
 * idle bridge never wakes the object. In-memory state (pending requests, frame
 * counters, ack timers) exists only while requests are open, which keeps the
 * object awake; what must outlive a hibernation sits in the socket attachment.
 */
import { DurableObject } from 'cloudflare:workers';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS, BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS, type TunnelErrorInfo } from '../../protocol/tunnel-errors.ts';
import {
  ACK_TIMEOUT_MS,
  encodeTunnelFrame,
  exceedsFrameLimit,
  HANDSHAKE_TIMEOUT_MS,
  MAX_FRAME_BYTES,
  PING_FRAME,
  PONG_FRAME,
  TUNNEL_CLOSE,
  TUNNEL_PROTOCOL_VERSION,
  TUNNEL_SUBPROTOCOL,
  type OutgoingFrame,
} from '../../protocol/tunnel-frames.ts';
import type { Env } from '../config.ts';
import { BRIDGE_RECORD_KEY, CONNECTION_SEQ_KEY, loadBridgeRecord, readAttachment, writeAttachment, type SocketAttachment } from './bridge-record.ts';
import { BridgeFrameHandler } from './bridge-frame-handler.ts';
import { bridgeLiveness, lastHeardAt, type Liveness, type LivenessInput } from './bridge-liveness.ts';
import { PendingRequest } from './pending-request.ts';
import { buildBridgeStatus, type BridgeStatus } from './bridge-status.ts';
import { tunnelChatBodySchema } from './tunnel-endpoints.ts';
import { errorLineResponse, NDJSON_CONTENT_TYPE } from './tunnel-stream-lines.ts';
import { safeParseJson } from '../../protocol/validate.ts';

const BRIDGE_TAG = 'bridge';
/** Local generations can be long; the agents own the client-facing deadlines. */
const DEFAULT_DEADLINE_MS = 30 * 60 * 1000;
/** Extra ack windows for a bridge heard from meanwhile (alive, maybe still reading a large frame): at most 4 × ACK_TIMEOUT_MS in all. */
const ACK_EXTRA_WINDOWS = 3;

const offline = (message: string): TunnelErrorInfo => ({
  code: 'bridge_offline',
  message,
  retryable: true,
  retryAfterMs: BRIDGE_OFFLINE_RETRY_AFTER_MS,
});

const unresponsive = (why: string): TunnelErrorInfo => ({
  code: 'bridge_unresponsive',
  message: `The bridge is connected but not answering: ${why}. Retry shortly, or add fallback_models to be served online meanwhile`,
  retryable: true,
  retryAfterMs: BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS,
});

export class BridgeTunnel extends DurableObject<Env> {
  private readonly frames: BridgeFrameHandler;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    this.frames = new BridgeFrameHandler({
      storage: ctx.storage,
      send: (socket, frame) => sendFrame(socket, frame),
      closeSocket: (socket, code, reason) => this.closeSocket(socket, code, reason, offline(`The bridge connection closed: ${reason}`)),
      supersedeOthers: (socket) => this.supersedeOthers(socket),
    });
  }

  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/connect') return this.acceptBridge(request);
    if (path === '/chat' && request.method === 'POST') return this.openChat(request);
    if (path === '/status') return Response.json(await this.status());
    return Response.json(new GatewayError({ status: 404, type: 'not_found_error', message: 'Not found' }).toBody(), { status: 404 });
  }

  /** The connection and the last-seen models, for `GET /v1/bridge` and `/v1/models`. */
  async status(): Promise<BridgeStatus> {
    const current = this.currentBridge();
    const record = await loadBridgeRecord(this.ctx.storage);
    const lastPing = current ? this.ctx.getWebSocketAutoResponseTimestamp(current.socket) : null;
    const liveness = current ? this.liveness(current.socket, current.attachment) : undefined;
    return buildBridgeStatus({
      record,
      current: current?.attachment,
      lastHeartbeatAt: lastPing?.getTime(),
      inFlight: this.frames.inFlight(),
      draining: this.anyDraining(),
      unresponsiveSince: liveness?.state === 'unresponsive' ? liveness.since : undefined,
    });
  }

  /** Closes every connection that has not said hello within the handshake timeout (armed in acceptBridge). */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let next: number | undefined;
    for (const socket of this.ctx.getWebSockets(BRIDGE_TAG)) {
      const attachment = readAttachment(socket);
      if (!attachment || attachment.ready) continue;
      const due = attachment.connectedAt + HANDSHAKE_TIMEOUT_MS;
      if (due <= now) this.closeSocket(socket, TUNNEL_CLOSE.helloTimeout, `no hello within ${HANDSHAKE_TIMEOUT_MS} ms`, offline('The bridge connection said no hello'));
      else next = Math.min(next ?? due, due);
    }
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.frames.onMessage(socket, message, Date.now());
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    await this.onSocketGone(socket, `code ${code}${reason ? ` (${reason})` : ''}`);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.onSocketGone(socket, 'socket error');
  }

  private async acceptBridge(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json(
        new GatewayError({ status: 426, type: 'invalid_request_error', message: 'Expected a WebSocket upgrade' }).toBody(),
        { status: 426, headers: { upgrade: 'websocket' } },
      );
    }
    const seq = ((await this.ctx.storage.get<number>(CONNECTION_SEQ_KEY)) ?? 0) + 1;
    await this.ctx.storage.put(CONNECTION_SEQ_KEY, seq);
    // Nothing is superseded here: only a valid hello does that (supersedeOthers). A connection that
    // never says one is closed by the alarm, whether or not the object hibernates meanwhile.
    const helloDue = Date.now() + HANDSHAKE_TIMEOUT_MS;
    const armed = await this.ctx.storage.getAlarm();
    if (armed === null || armed > helloDue) await this.ctx.storage.setAlarm(helloDue);

    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [BRIDGE_TAG]);
    const attachment: SocketAttachment = {
      seq,
      sessionId: crypto.randomUUID(),
      connectedAt: Date.now(),
      proto: TUNNEL_PROTOCOL_VERSION,
      bridgeId: null,
      ready: false,
      draining: false,
    };
    writeAttachment(server, attachment);

    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((item) => item.trim());
    const headers = offered.includes(TUNNEL_SUBPROTOCOL) ? { 'sec-websocket-protocol': TUNNEL_SUBPROTOCOL } : undefined;
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  private async openChat(request: Request): Promise<Response> {
    const json = safeParseJson(await request.text());
    const parsed = json.ok ? tunnelChatBodySchema.safeParse(json.value) : undefined;
    if (!parsed?.success) {
      return errorLineResponse({ code: 'bad_request', message: 'Malformed tunnel request', retryable: false }, 400);
    }
    const current = this.currentBridge();
    if (!current) {
      const message = this.anyDraining()
        ? 'The bridge is shutting down; retry shortly or add fallback_models'
        : 'No bridge is connected. Start it on your Mac: `npm run bridge -- login` once, then `npm run bridge -- --url <gateway URL>`, or add fallback_models to be served online meanwhile';
      return errorLineResponse(offline(message), 503);
    }

    const liveness = this.liveness(current.socket, current.attachment);
    if (liveness.state === 'gone') {
      this.closeSocket(current.socket, TUNNEL_CLOSE.heartbeatTimeout, 'heartbeat timeout', offline('The bridge stopped answering heartbeats'));
      return errorLineResponse(offline('The bridge stopped answering heartbeats'), 503);
    }
    if (liveness.state === 'unresponsive') {
      // Fails at once: the bridge has already shown it does not answer, waiting for an ack again helps nobody.
      this.markUnresponsive(current.socket, liveness.reason);
      return errorLineResponse(unresponsive(liveness.reason), 503);
    }

    // Made by the agent for this model (UpstreamChatRequest): forwarded as it is.
    const { request: body, deadlineMs } = parsed.data;
    const model = body.model;
    const id = crypto.randomUUID();
    const text = encodeTunnelFrame({
      t: 'req',
      id,
      op: 'chat.completions',
      model,
      body,
      deadlineMs: deadlineMs ?? DEFAULT_DEADLINE_MS,
    });
    if (exceedsFrameLimit(text)) {
      const message = `The request is larger than the tunnel's ${MAX_FRAME_BYTES} byte frame limit`;
      return errorLineResponse({ code: 'bad_request', message, retryable: false }, 413);
    }

    const pending = new PendingRequest({
      id,
      socketSeq: current.attachment.seq,
      onCancel: (cancelled) => {
        this.frames.forget(cancelled.id);
        sendFrame(current.socket, { t: 'cancel', id: cancelled.id, reason: 'client_abort' });
      },
      onOverflow: (slow) => {
        this.frames.forget(slow.id);
        sendFrame(current.socket, { t: 'cancel', id: slow.id, reason: 'buffer_overflow' });
        slow.fail({ code: 'internal', message: 'The client read the response too slowly; it was cut off', retryable: false });
      },
    });
    this.frames.track(pending);
    pending.announceRunner((await loadBridgeRecord(this.ctx.storage))?.models.find((entry) => entry.id === model)?.runner);
    if (!sendFrame(current.socket, text)) {
      this.frames.forget(id);
      pending.fail(offline('The bridge connection was lost'));
    } else {
      // A timer, not an alarm: the open request keeps the object awake until it ends, and the
      // callback does nothing once the bridge has answered or the request is over. A bridge heard
      // from since the last look is alive and may still be reading a large frame over a slow
      // link: it gets another window, a few at most.
      let lookedAt = Date.now();
      const check = (windowsLeft: number): void => {
        if (pending.isClosed || pending.acknowledged) return;
        const heard = lastHeardAt(this.livenessInput(current.socket, current.attachment));
        if (heard > lookedAt && windowsLeft > 0) {
          lookedAt = Date.now();
          setTimeout(() => check(windowsLeft - 1), ACK_TIMEOUT_MS);
          return;
        }
        this.markUnresponsive(current.socket, `it did not acknowledge a request within ${ACK_TIMEOUT_MS} ms`);
      };
      setTimeout(() => check(ACK_EXTRA_WINDOWS), ACK_TIMEOUT_MS);
    }
    return new Response(pending.stream, { headers: { 'content-type': NDJSON_CONTENT_TYPE } });
  }

  /** The open, ready, non-draining bridge socket with the highest seq. */
  private currentBridge(): { socket: WebSocket; attachment: SocketAttachment } | undefined {
    let best: { socket: WebSocket; attachment: SocketAttachment } | undefined;
    for (const socket of this.ctx.getWebSockets(BRIDGE_TAG)) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      const attachment = readAttachment(socket);
      if (!attachment?.ready || attachment.draining || this.frames.isClosedBySelf(attachment.seq)) continue;
      if (!best || attachment.seq > best.attachment.seq) best = { socket, attachment };
    }
    return best;
  }

  private livenessInput(socket: WebSocket, attachment: SocketAttachment): LivenessInput {
    return {
      connectedAt: attachment.connectedAt,
      lastPingAt: this.ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime(),
      lastFrameAt: this.frames.lastMessageAt(attachment.seq),
      unresponsiveSince: attachment.unresponsiveSince,
    };
  }

  private liveness(socket: WebSocket, attachment: SocketAttachment): Liveness {
    return bridgeLiveness(this.livenessInput(socket, attachment), Date.now());
  }

  /**
   * The bridge on `socket` is not answering: it gets no new requests until it
   * speaks again (any frame, or a ping, after this moment), and every request
   * it never acknowledged fails now with `bridge_unresponsive` (before the
   * client's first byte, so a backup model can serve it). Requests it did
   * acknowledge keep running: a bridge that comes back finishes them. Each
   * failed request gets a `cancel`, so a bridge that wakes up does not run it.
   */
  private markUnresponsive(socket: WebSocket, why: string): void {
    const attachment = readAttachment(socket);
    if (!attachment) return;
    // The first moment it went quiet stays (GET /v1/bridge shows it); later refusals do not move it.
    if (attachment.unresponsiveSince === undefined) writeAttachment(socket, { ...attachment, unresponsiveSince: Date.now() });
    const failed = this.frames.failSocket(attachment.seq, unresponsive(why), (request) => !request.acknowledged);
    for (const id of failed) sendFrame(socket, { t: 'cancel', id, reason: 'deadline' });
  }

  /** A valid hello arrived on `socket`: the bridges that said hello before it are replaced (last bridge wins). */
  private supersedeOthers(socket: WebSocket): void {
    for (const other of this.ctx.getWebSockets(BRIDGE_TAG)) {
      if (other === socket || !readAttachment(other)?.ready) continue;
      this.closeSocket(other, TUNNEL_CLOSE.superseded, 'superseded by a newer bridge connection', offline('A newer bridge connection replaced the one serving this request'));
    }
  }

  private anyDraining(): boolean {
    return this.ctx.getWebSockets(BRIDGE_TAG).some((socket) => readAttachment(socket)?.draining === true);
  }

  /** Closes a bridge socket and fails every request that went out on it. */
  private closeSocket(socket: WebSocket, code: number, reason: string, failure: TunnelErrorInfo): void {
    const attachment = readAttachment(socket);
    if (attachment) {
      this.frames.markClosedBySelf(attachment.seq);
      this.frames.failSocket(attachment.seq, failure);
    }
    try {
      socket.close(code, reason);
    } catch {
      // Already closing or closed: nothing left to do.
    }
  }

  private async onSocketGone(socket: WebSocket, why: string): Promise<void> {
    const attachment = readAttachment(socket);
    if (!attachment) return;
    this.frames.failSocket(attachment.seq, offline(`The bridge disconnected (${why})`));
    this.frames.forgetSocket(attachment.seq);
    try {
      socket.close(TUNNEL_CLOSE.normal, 'closed');
    } catch {
      // The runtime may already have completed the close handshake.
    }
    // Only the last bridge leaving makes the user's bridge offline (a newer hello may sit on an older socket).
    const others = this.ctx
      .getWebSockets(BRIDGE_TAG)
      .some((other) => other !== socket && other.readyState === WebSocket.OPEN && readAttachment(other)?.ready === true);
    if (others || !attachment.ready) return;
    const record = await loadBridgeRecord(this.ctx.storage);
    if (record) await this.ctx.storage.put(BRIDGE_RECORD_KEY, { ...record, disconnectedAt: Date.now() });
  }
}

/** Sends a frame, false when the socket can no longer take it. */
function sendFrame(socket: WebSocket, frame: OutgoingFrame | string): boolean {
  try {
    socket.send(typeof frame === 'string' ? frame : encodeTunnelFrame(frame));
    return true;
  } catch {
    return false;
  }
}
