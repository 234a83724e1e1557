/**
 * Frames between this bridge and the gateway on one socket: writing them,
 * reading what arrives, and handing each frame to the request scheduler.
 * A `req` frame the bridge cannot read is answered `err bad_request` at once,
 * so a gateway newer than the bridge never leaves a request hanging.
 */
import WebSocket, { type RawData } from 'ws';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import { encodeTunnelFrame, parseTunnelFrame, type OutgoingFrame, type TunnelFrame } from '../../protocol/tunnel-frames.ts';
import type { RequestScheduler, SendFrame } from './request-scheduler.ts';

export interface GatewayFrameContext {
  scheduler: RequestScheduler;
  /** Writes onto the connection the frame came on. */
  send: SendFrame;
  log: (line: string) => void;
}

/** Writes a frame (or an exact heartbeat string) if the socket is still open; a closed socket drops it. */
export function sendOn(socket: WebSocket, frame: OutgoingFrame | string): void {
  if (socket.readyState !== WebSocket.OPEN) return;
  socket.send(typeof frame === 'string' ? frame : encodeTunnelFrame(frame));
}

/** Reads one message; undefined (logged, and refused if it was a request) when it is not a frame this bridge knows. */
export function readGatewayFrame(data: RawData, isBinary: boolean, context: GatewayFrameContext): TunnelFrame | undefined {
  const text = isBinary ? undefined : rawText(data);
  const frame = text === undefined ? undefined : parseTunnelFrame(text);
  if (!frame?.ok) {
    context.log('ignored a malformed frame from the gateway');
    if (text !== undefined && frame?.kind === 'shape') refuseUnreadableRequest(text, frame.message, context);
    return undefined;
  }
  return frame.frame;
}

/** Acts on one frame from the gateway: requests and cancels go to the scheduler, the rest is logged. */
export function dispatchGatewayFrame(frame: TunnelFrame, context: GatewayFrameContext): void {
  switch (frame.t) {
    case 'req':
      return context.scheduler.submit(frame, context.send);
    case 'cancel':
      return context.scheduler.cancel(frame.id, tunnelError('cancelled', `Cancelled by the gateway (${frame.reason})`));
    case 'goaway':
      return context.log(`the gateway is going away: ${frame.reason}`);
    case 'err':
      return context.log(`the gateway reported: ${frame.message}`);
    default:
      return; // welcome (handled by the connection), pong
  }
}

/**
 * A `req` frame this bridge cannot read (a newer gateway, a model id it refuses):
 * answered `err bad_request` at once, so the request fails fast instead of
 * waiting for its deadline. Only the failing field's path is reported.
 */
function refuseUnreadableRequest(text: string, problem: string, context: GatewayFrameContext): void {
  const json = safeParseJson(text);
  if (!json.ok || typeof json.value !== 'object' || json.value === null) return;
  const id: unknown = 't' in json.value && json.value.t === 'req' && 'id' in json.value ? json.value.id : undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) return;
  context.log(`refused request ${id}: ${problem}`);
  const where = /^invalid frame at ([\w.]+)/.exec(problem)?.[1];
  context.send({
    t: 'err',
    id,
    code: 'bad_request',
    message: `This bridge cannot read the request${where ? ` (${where})` : ''}; it may be older than the gateway (update the bridge)`,
    retryable: false,
  });
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}
