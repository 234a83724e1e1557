/**
 * The bridge's heartbeat on one connection: a ping every interval once the
 * gateway has welcomed it, and the connection is given up after two pings
 * go unanswered. Any message from the gateway counts as an answer.
 */
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { HEARTBEAT_SEC } from '../../protocol/tunnel-frames.ts';
import { every } from './injected-timers.ts';

const DEFAULT_HEARTBEAT_MS = HEARTBEAT_SEC * 1000;
const MISSED_PONGS_LIMIT = 2;

export interface HeartbeatOptions {
  sleep: RuntimeDeps['sleep'];
  /** Sends one ping. */
  ping: () => void;
  /** Called (instead of a third ping) when the gateway stayed silent. */
  onLost: () => void;
}

export class Heartbeat {
  private readonly options: HeartbeatOptions;
  private missedPongs = 0;

  constructor(options: HeartbeatOptions) {
    this.options = options;
  }

  /** Any message from the gateway proves the link is alive. */
  heard(): void {
    this.missedPongs = 0;
  }

  /** Pings every `intervalMs` until `signal` aborts (the connection closed). */
  start(intervalMs: number, signal: AbortSignal): void {
    void every(this.options.sleep, intervalMs, signal, () => {
      if (this.missedPongs >= MISSED_PONGS_LIMIT) return this.options.onLost();
      this.missedPongs += 1;
      this.options.ping();
    });
  }
}

/** The ping interval: the bridge's own setting (25 s by default), never longer than the gateway asks in welcome. */
export function heartbeatInterval(configuredMs: number | undefined, gatewayHeartbeatSec: number): number {
  return Math.min(configuredMs ?? DEFAULT_HEARTBEAT_MS, gatewayHeartbeatSec * 1000);
}
