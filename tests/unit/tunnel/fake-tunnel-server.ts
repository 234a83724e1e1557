/**
 * The gateway's end of the tunnel, faked on loopback for BridgeClient tests: an
 * HTTP server on 127.0.0.1:0 that upgrades `/bridge/connect` when the Bearer
 * token matches (401 otherwise) and hands each connection to the test as a
 * `TunnelPeer` that speaks the frame schema.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  encodeTunnelFrame,
  parseTunnelFrame,
  type FrameOf,
  type OutgoingFrame,
  type TunnelFrame,
  type TunnelFrameType,
} from '../../../protocol/tunnel-frames.ts';

export interface UpgradeRecord {
  url: string;
  authorization: string | undefined;
  protocol: string | undefined;
}

export interface TunnelPeer {
  readonly socket: WebSocket;
  /** Raw text messages, in order (heartbeats included). */
  readonly texts: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
  nextFrame<T extends TunnelFrameType>(type: T, where?: (frame: FrameOf<T>) => boolean): Promise<FrameOf<T>>;
  send(frame: OutgoingFrame): void;
  /** Waits for hello and answers welcome. */
  welcome(heartbeatSec?: number): Promise<FrameOf<'hello'>>;
}

export interface FakeTunnelServer {
  /** `http://127.0.0.1:PORT`, the gateway base URL a bridge is given. */
  url: string;
  upgrades: UpgradeRecord[];
  /** The next connection (in arrival order), waiting for it if needed. */
  nextPeer(): Promise<TunnelPeer>;
  /** Answer upgrade attempts with this HTTP status instead of accepting (undefined: accept). */
  refuseWith(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startFakeTunnelServer(token: string): Promise<FakeTunnelServer> {
  const upgrades: UpgradeRecord[] = [];
  const peers: TunnelPeer[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  let refusal: number | undefined;
  const server = http.createServer((_request, response) => response.writeHead(404).end());
  const sockets = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => [...protocols][0] ?? false });

  server.on('upgrade', (request, socket, head) => {
    upgrades.push({ url: request.url ?? '', authorization: request.headers.authorization, protocol: request.headers['sec-websocket-protocol'] });
    const status = request.headers.authorization === `Bearer ${token}` ? refusal : 401;
    if (status !== undefined || request.url !== '/bridge/connect') {
      socket.end(`HTTP/1.1 ${status ?? 404} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      peers.push(createPeer(ws));
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    upgrades,
    nextPeer() {
      return new Promise((resolve) => {
        const check = (): void => {
          const peer = peers[taken];
          if (peer) {
            taken += 1;
            resolve(peer);
          } else waiters.push(check);
        };
        check();
      });
    },
    refuseWith(status) {
      refusal = status;
    },
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function createPeer(socket: WebSocket): TunnelPeer {
  const texts: string[] = [];
  const frames: TunnelFrame[] = [];
  const taken = new Set<number>();
  const waiters: Array<() => void> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters.splice(0)) wake();
    });
  });
  socket.on('message', (data) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    texts.push(text);
    const parsed = parseTunnelFrame(text);
    if (parsed.ok) frames.push(parsed.frame);
    for (const wake of waiters.splice(0)) wake();
  });

  const peer: TunnelPeer = {
    socket,
    texts,
    closed,
    nextFrame<T extends TunnelFrameType>(type: T, where?: (frame: FrameOf<T>) => boolean): Promise<FrameOf<T>> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (let index = 0; index < frames.length; index += 1) {
            const frame = frames[index];
            if (taken.has(index) || frame?.t !== type) continue;
            const typed = frame as FrameOf<T>;
            if (where && !where(typed)) continue;
            taken.add(index);
            return resolve(typed);
          }
          if (socket.readyState >= socket.CLOSING) return reject(new Error(`socket closed while waiting for a ${type} frame`));
          waiters.push(check);
        };
        check();
      });
    },
    send(frame) {
      socket.send(encodeTunnelFrame(frame));
    },
    async welcome(heartbeatSec = 25) {
      const hello = await peer.nextFrame('hello');
      peer.send({ t: 'welcome', sessionId: 'session-1', heartbeatSec, maxFrameBytes: 1024 * 1024 });
      return hello;
    },
  };
  return peer;
}
