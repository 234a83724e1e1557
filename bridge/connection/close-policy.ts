/**
 * Which ends of a tunnel connection are worth a reconnect. Auth and policy
 * refusals, a takeover by another bridge and a protocol mismatch are final:
 * retrying them would only hammer the gateway (see docs/tunnel-protocol.md).
 */
import { TUNNEL_CLOSE } from '../../protocol/tunnel-frames.ts';

/** The states in which the client has given up for good. */
export type FatalState = 'auth_failed' | 'superseded' | 'rejected';

export interface ConnectionEnd {
  /** Set when the client must not reconnect. */
  fatal?: FatalState;
  reason: string;
  /** The connection lasted long enough to reset the backoff. */
  stable: boolean;
}

/** Whether a connection's end is worth retrying. */
export function classifyEnd(httpStatus: number | undefined, code: number, reason: string): Omit<ConnectionEnd, 'stable'> {
  if (httpStatus === 401 || httpStatus === 403) {
    return { fatal: 'auth_failed', reason: `the gateway refused the bridge token (HTTP ${httpStatus}); check BRIDGE_TOKEN` };
  }
  if (httpStatus === 400) return { fatal: 'rejected', reason: `the gateway refused the connection (HTTP 400)` };
  if (code === TUNNEL_CLOSE.policy) return { fatal: 'rejected', reason: `closed by policy: ${reason}` };
  if (code === TUNNEL_CLOSE.superseded) {
    return { fatal: 'superseded', reason: 'superseded (close 4001): another bridge connected to the gateway with the same token and took over; run one bridge per token' };
  }
  if (code === TUNNEL_CLOSE.unsupportedVersion) return { fatal: 'rejected', reason: `unsupported protocol version: ${reason}` };
  return { reason };
}
