/**
 * What the BridgeTunnel does with each frame the bridge sends: the hello/models
 * bookkeeping, and routing request frames (ack, progress, delta, end, err) to
 * the pending request with that id, on the socket it went out on. Anything
 * malformed is counted against the socket (MalformedFramePolicy).
 */
import type { TunnelErrorInfo } from '../../protocol/tunnel-errors.ts';
import {
  exceedsFrameLimit,
  HEARTBEAT_SEC,
  MAX_FRAME_BYTES,
  parseTunnelFrame,
  TUNNEL_CLOSE,
  TUNNEL_PROTOCOL_VERSION,
  type FrameOf,
  type OutgoingFrame,
  type TunnelFrame,
} from '../../protocol/tunnel-frames.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import { plainTextDeltaFrame } from './text-delta-shape.ts';
import { BRIDGE_RECORD_KEY, loadBridgeRecord, readAttachment, writeAttachment, type BridgeRecord, type SocketAttachment } from './bridge-record.ts';
import { MalformedFramePolicy } from './malformed-frame-policy.ts';
import { mergeDeltaEvents } from '../../protocol/merge-delta-events.ts';
import type { PendingRequest } from './pending-request.ts';

/** Late frames for this many recently ended requests are dropped quietly. */
const RECENTLY_ENDED_LIMIT = 1024;

export interface BridgeFrameHandlerOptions {
  storage: DurableObjectStorage;
  send: (socket: WebSocket, frame: OutgoingFrame) => boolean;
  closeSocket: (socket: WebSocket, code: number, reason: string) => void;
  /** A bridge said a valid hello on `socket`: every other bridge that said hello is superseded (4001). */
  supersedeOthers: (socket: WebSocket) => void;
}

type RequestFrame = FrameOf<'ack'> | FrameOf<'progress'> | FrameOf<'delta'> | FrameOf<'end'> | FrameOf<'err'>;

export class BridgeFrameHandler {
  private readonly pending = new Map<string, PendingRequest>();
  private readonly recentlyEnded = new Set<string>();
  private readonly policy = new MalformedFramePolicy();
  private readonly closedBySelf = new Set<number>();
  private readonly lastMessages = new Map<number, number>();
  private readonly options: BridgeFrameHandlerOptions;

  constructor(options: BridgeFrameHandlerOptions) {
    this.options = options;
  }

  /** Starts routing frames for a request. */
  track(request: PendingRequest): void {
    this.pending.set(request.id, request);
  }

  /** Stops routing frames for a request; late ones are dropped quietly. */
  forget(id: string): void {
    this.pending.delete(id);
    this.recentlyEnded.add(id);
    if (this.recentlyEnded.size > RECENTLY_ENDED_LIMIT) {
      const oldest = this.recentlyEnded.values().next().value;
      if (oldest !== undefined) this.recentlyEnded.delete(oldest);
    }
  }

  inFlight(): number {
    return this.pending.size;
  }

  /** Fails every request that went out on socket `seq` (only those `which` picks, when given); returns their ids. */
  failSocket(seq: number, error: TunnelErrorInfo, which: (request: PendingRequest) => boolean = () => true): string[] {
    const failed: string[] = [];
    for (const request of [...this.pending.values()]) {
      if (request.socketSeq !== seq || !which(request)) continue;
      this.forget(request.id);
      request.fail(error);
      failed.push(request.id);
    }
    return failed;
  }

  markClosedBySelf(seq: number): void {
    this.closedBySelf.add(seq);
  }

  isClosedBySelf(seq: number): boolean {
    return this.closedBySelf.has(seq);
  }

  /** When socket `seq` last sent a frame this object saw (0 when unknown, e.g. after hibernation). */
  lastMessageAt(seq: number): number {
    return this.lastMessages.get(seq) ?? 0;
  }

  forgetSocket(seq: number): void {
    this.policy.forget(seq);
    this.lastMessages.delete(seq);
  }

  async onMessage(socket: WebSocket, message: string | ArrayBuffer, now: number): Promise<void> {
    let attachment = readAttachment(socket);
    if (!attachment) {
      this.options.closeSocket(socket, TUNNEL_CLOSE.policy, 'unknown connection');
      return;
    }
    if (this.closedBySelf.has(attachment.seq)) return;
    this.lastMessages.set(attachment.seq, now);
    if (attachment.unresponsiveSince !== undefined) {
      // Any frame, even a malformed or late one, shows the bridge is answering again: route to it.
      attachment = { ...attachment, unresponsiveSince: undefined };
      writeAttachment(socket, attachment);
    }
    if (typeof message !== 'string') return this.malformed(socket, attachment, now);
    if (exceedsFrameLimit(message)) {
      this.options.closeSocket(socket, TUNNEL_CLOSE.tooBig, `frame over ${MAX_FRAME_BYTES} bytes`);
      return;
    }
    // The common frame, text pieces, without zod (text-delta-shape.ts); every other one through the schema.
    const json = safeParseJson(message);
    let frame: TunnelFrame | undefined = json.ok ? plainTextDeltaFrame(json.value) : undefined;
    if (!frame) {
      const result = parseTunnelFrame(message);
      if (!result.ok) {
        if (result.kind === 'version') this.options.closeSocket(socket, TUNNEL_CLOSE.unsupportedVersion, result.message);
        else this.malformed(socket, attachment, now);
        return;
      }
      frame = result.frame;
    }
    switch (frame.t) {
      case 'hello':
        return this.onHello(socket, attachment, frame, now);
      case 'models':
        if (!attachment.ready) return this.malformed(socket, attachment, now);
        return this.onModels(frame);
      case 'goaway':
        writeAttachment(socket, { ...attachment, draining: true });
        return;
      case 'ping':
        this.options.send(socket, { t: 'pong' });
        return;
      case 'pong':
        return;
      case 'ack':
      case 'progress':
      case 'delta':
      case 'end':
      case 'err':
        if (!attachment.ready) return this.malformed(socket, attachment, now);
        return this.onRequestFrame(socket, attachment, frame, now);
      default:
        // welcome, req and cancel only ever travel towards the bridge.
        return this.malformed(socket, attachment, now);
    }
  }

  private async onHello(socket: WebSocket, attachment: SocketAttachment, frame: FrameOf<'hello'>, now: number): Promise<void> {
    if (!frame.protocols.includes(TUNNEL_PROTOCOL_VERSION)) {
      this.options.closeSocket(socket, TUNNEL_CLOSE.unsupportedVersion, `this gateway speaks protocol ${TUNNEL_PROTOCOL_VERSION}`);
      return;
    }
    const record: BridgeRecord = {
      bridgeId: frame.bridgeId,
      version: frame.version,
      runners: frame.runners,
      models: frame.models,
      capacity: frame.capacity,
      device: frame.device,
      connectedAt: attachment.connectedAt || now,
      disconnectedAt: null,
    };
    await this.options.storage.put(BRIDGE_RECORD_KEY, record);
    writeAttachment(socket, { ...attachment, bridgeId: frame.bridgeId, ready: true });
    // Only now, with a valid hello, does this connection replace the bridge serving so far: a stray
    // upgrade with the token that never says hello must not take local serving down.
    this.options.supersedeOthers(socket);
    this.options.send(socket, {
      t: 'welcome',
      sessionId: attachment.sessionId,
      heartbeatSec: HEARTBEAT_SEC,
      maxFrameBytes: MAX_FRAME_BYTES,
    });
  }

  private async onModels(frame: FrameOf<'models'>): Promise<void> {
    const record = await loadBridgeRecord(this.options.storage);
    if (!record) return;
    await this.options.storage.put(BRIDGE_RECORD_KEY, {
      ...record,
      models: frame.models,
      runners: frame.runners ?? record.runners,
      device: frame.device ?? record.device,
    });
  }

  private onRequestFrame(socket: WebSocket, attachment: SocketAttachment, frame: RequestFrame, now: number): void {
    if (frame.t === 'err' && frame.id === undefined) return; // a bridge-level notice: nothing to route
    const id = frame.id ?? '';
    const request = this.pending.get(id);
    if (!request || request.socketSeq !== attachment.seq) {
      // Late frames after a cancel are expected; frames for ids never seen are not.
      if (!this.recentlyEnded.has(id)) this.malformed(socket, attachment, now);
      return;
    }
    request.acknowledged = true;
    switch (frame.t) {
      case 'ack':
        request.announceRunner(frame.runner);
        if (frame.state === 'queued') request.emit([{ type: 'progress', phase: 'queued', done: frame.queuePos }]);
        return;
      case 'progress':
        request.emit([{ type: 'progress', phase: frame.phase, done: frame.done, total: frame.total }]);
        return;
      case 'delta':
        if (frame.seq !== request.nextSeq) {
          this.forget(id);
          this.options.send(socket, { t: 'cancel', id, reason: 'protocol_error' });
          request.fail({ code: 'protocol', message: 'The bridge sent response pieces out of order', retryable: true });
          this.malformed(socket, attachment, now);
          return;
        }
        request.nextSeq += 1;
        // One frame, one line, one SSE chunk (for a frame of text): neighbours merged, losslessly.
        request.emit(mergeDeltaEvents(frame.events));
        return;
      case 'end':
        this.forget(id);
        if (frame.finish_reason === 'cancelled') {
          request.fail({ code: 'cancelled', message: 'The bridge cancelled the request', retryable: false });
        } else if (frame.finish_reason === 'error') {
          request.fail({ code: 'internal', message: 'The runner ended the response with an error', retryable: true });
        } else {
          request.finish({ type: 'finish', finishReason: frame.finish_reason, usage: frame.usage, stats: frame.stats });
        }
        return;
      case 'err':
        this.forget(id);
        request.fail({ code: frame.code, message: frame.message, retryable: frame.retryable, retryAfterMs: frame.retryAfterMs, param: frame.param });
        return;
    }
  }

  private malformed(socket: WebSocket, attachment: SocketAttachment, now: number): void {
    if (this.policy.record(attachment.seq, now)) {
      this.options.closeSocket(socket, TUNNEL_CLOSE.policy, 'too many malformed frames');
    }
  }
}
