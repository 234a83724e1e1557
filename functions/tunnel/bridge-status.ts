/**
 * The `/v1/bridge` view of a tunnel, built from the current socket's
 * attachment and the stored record of the last bridge that said hello.
 */
import type { BridgeRecord, BridgeStatus, SocketAttachment } from './bridge-record.ts';

export type { BridgeStatus } from './bridge-record.ts';

export interface BridgeStatusInput {
  record: BridgeRecord | undefined;
  /** The ready bridge connection, when there is one. */
  current: SocketAttachment | undefined;
  /** The runtime's timestamp of the last auto-answered ping. */
  lastHeartbeatAt: number | undefined;
  inFlight: number;
  draining: boolean;
  /** When the connected bridge stopped answering, if it has. */
  unresponsiveSince: number | undefined;
}

const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());

/** Status as the contract shapes it; models are `local/<id>`, marked offline when no bridge is connected. */
export function buildBridgeStatus(input: BridgeStatusInput): BridgeStatus {
  const { record, current } = input;
  const connected = current !== undefined;
  const lastSeen = connected
    ? Math.max(current.connectedAt, input.lastHeartbeatAt ?? 0)
    : (record?.disconnectedAt ?? record?.connectedAt ?? null);
  return {
    connected,
    since: connected ? iso(current.connectedAt) : null,
    models: (record?.models ?? []).map((model) => ({
      id: `local/${model.id}`,
      runner: model.runner,
      state: connected ? model.state : 'offline',
      ...(model.bytes === undefined ? {} : { bytes: model.bytes }),
      online: connected,
    })),
    runners: record?.runners ?? [],
    in_flight: input.inFlight,
    bridge_id: connected ? current.bridgeId : (record?.bridgeId ?? null),
    last_seen: iso(lastSeen),
    draining: input.draining,
    version: record?.version ?? null,
    capacity: record?.capacity ?? null,
    device: record?.device ?? null,
    unresponsive_since: connected ? iso(input.unresponsiveSince) : null,
  };
}
