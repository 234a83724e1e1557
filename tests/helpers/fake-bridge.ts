/**
 * A fake bridge for tests inside workerd: a real WebSocket to the BridgeTunnel
 * (straight to the object for one user, or through `/bridge/connect`) that
 * speaks the frame schema and lets a test script the bridge's side.
 *
 *   const bridge = await connectFakeBridge(env, userId);
 *   await bridge.hello([{ id: 'tiny', state: 'loaded', runner: 'test' }]);
 *   const request = await bridge.nextFrame('req');
 *   bridge.send({ t: 'delta', id: request.id, seq: 0, events: [{ type: 'text-delta', text: 'Hi' }] });
 */
import {
  encodeTunnelFrame,
  parseTunnelFrame,
  TUNNEL_SUBPROTOCOL,
  type BridgeModel,
  type FrameOf,
  type OutgoingFrame,
  type TunnelFrame,
  type TunnelFrameType,
} from '../../protocol/tunnel-frames.ts';
import type { Env } from '../../functions/config.ts';
import { TUNNEL_URLS, tunnelStub } from '../../functions/tunnel/tunnel-endpoints.ts';

/**
 * The workerd test env as the gateway's Env. (tests/workers/cloudflare-env.d.ts
 * means to declare this, but `interface … extends import(…)` is not valid there
 * and skipLibCheck hides the error, so the test env is narrowed here instead.)
 */
export function gatewayEnv(value: object): Env {
  if (!('BRIDGE_TUNNEL' in value)) throw new Error('the test env has no BRIDGE_TUNNEL binding');
  return value as Env;
}

export interface FakeBridge {
  readonly socket: WebSocket;
  /** Resolves with the close code and reason when the gateway (or the test) closes the socket. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Every frame received, in order (heartbeat pongs included). */
  readonly received: TunnelFrame[];
  send(frame: OutgoingFrame | string): void;
  /** The next not yet taken frame of `type` (matching `where`), waiting for it if needed. */
  nextFrame<T extends TunnelFrameType>(type: T, where?: (frame: FrameOf<T>) => boolean): Promise<FrameOf<T>>;
  /** Calls `listener` for every frame from now on. */
  onFrame(listener: (frame: TunnelFrame) => void): void;
  /** From now on answers every `req` with `ack running` at once, as a real bridge's scheduler does. */
  ackEveryRequest(runner?: string): void;
  /** Sends hello with these models and waits for the welcome. */
  hello(models?: BridgeModel[], bridgeId?: string): Promise<FrameOf<'welcome'>>;
  close(code?: number, reason?: string): void;
}

/** Connects straight to `userId`'s tunnel object (the Worker's auth is tested separately). */
export async function connectFakeBridge(env: Env, userId: string): Promise<FakeBridge> {
  const response = await tunnelStub(env, userId).fetch(TUNNEL_URLS.connect, {
    headers: { upgrade: 'websocket', 'sec-websocket-protocol': TUNNEL_SUBPROTOCOL },
  });
  return fakeBridgeFromResponse(response);
}

/** Wraps the 101 response of an upgrade (e.g. from `/bridge/connect`). */
export function fakeBridgeFromResponse(response: Response): FakeBridge {
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`expected a WebSocket upgrade, got ${response.status}`);
  socket.accept();

  const received: TunnelFrame[] = [];
  const taken = new Set<number>();
  const waiters: Array<() => void> = [];
  const listeners: Array<(frame: TunnelFrame) => void> = [];
  let resolveClosed!: (value: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    resolveClosed = resolve;
  });

  socket.addEventListener('message', (event) => {
    const parsed = typeof event.data === 'string' ? parseTunnelFrame(event.data) : undefined;
    if (!parsed?.ok) throw new Error(`the gateway sent a malformed frame: ${String(event.data)}`);
    received.push(parsed.frame);
    for (const listener of listeners) listener(parsed.frame);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.addEventListener('close', (event) => resolveClosed({ code: event.code, reason: event.reason }));

  const bridge: FakeBridge = {
    socket,
    closed,
    received,
    send(frame) {
      socket.send(typeof frame === 'string' ? frame : encodeTunnelFrame(frame));
    },
    nextFrame<T extends TunnelFrameType>(type: T, where?: (frame: FrameOf<T>) => boolean): Promise<FrameOf<T>> {
      const find = (): FrameOf<T> | undefined => {
        for (let index = 0; index < received.length; index += 1) {
          const frame = received[index];
          if (taken.has(index) || frame?.t !== type) continue;
          const typed = frame as FrameOf<T>;
          if (where && !where(typed)) continue;
          taken.add(index);
          return typed;
        }
        return undefined;
      };
      return new Promise((resolve, reject) => {
        const attempt = (): void => {
          const frame = find();
          if (frame) return resolve(frame);
          waiters.push(attempt);
        };
        void closed.then(({ code }) => reject(new Error(`socket closed (${code}) while waiting for a ${type} frame`)));
        attempt();
      });
    },
    onFrame(listener) {
      listeners.push(listener);
    },
    ackEveryRequest(runner = 'test') {
      listeners.push((frame) => {
        if (frame.t === 'req') bridge.send({ t: 'ack', id: frame.id, state: 'running', runner });
      });
    },
    async hello(models = [{ id: 'tiny', state: 'loaded', runner: 'test' }], bridgeId = 'fake-bridge') {
      bridge.send({
        t: 'hello',
        bridgeId,
        version: 'test',
        protocols: [1],
        runners: [...new Set(models.map((model) => model.runner))],
        models,
        capacity: { maxConcurrent: 64, maxQueue: 64 },
      });
      return bridge.nextFrame('welcome');
    },
    close(code = 1000, reason = 'test') {
      socket.close(code, reason);
    },
  };
  return bridge;
}
