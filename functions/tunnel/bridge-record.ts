/**
 * What the BridgeTunnel remembers, in the two places that survive hibernation:
 * the socket attachment (who this connection is; small, lost when the socket
 * closes) and DO storage (what the last bridge offered, kept while offline so
 * /v1/models can still list it).
 */
import * as z from 'zod';
import { bridgeModelSchema, deviceSchema, RUNNER_NAME_PATTERN, type BridgeDevice } from '../../protocol/tunnel-frames.ts';

export const socketAttachmentSchema = z.object({
  /** Increases with every accepted connection: the highest open one is current. */
  seq: z.number().int(),
  sessionId: z.string(),
  connectedAt: z.number(),
  proto: z.number().int(),
  bridgeId: z.string().nullable(),
  /** The hello arrived: requests may be sent. */
  ready: z.boolean(),
  /** The bridge sent goaway: no new requests. */
  draining: z.boolean(),
  /**
   * When a request on this socket went unacknowledged (ms since epoch): no new
   * requests go to it until the bridge speaks again (bridge-liveness.ts).
   */
  unresponsiveSince: z.number().optional(),
});
export type SocketAttachment = z.infer<typeof socketAttachmentSchema>;

/**
 * Each socket's attachment as this isolate last wrote or read it. Reading it is
 * a structured clone plus a zod check, on every frame: more than routing the
 * frame costs. Every write goes through `writeAttachment`, so the copy is what
 * is stored; after hibernation this is a new isolate, and the first read of
 * each socket deserializes again.
 */
const attachments = new WeakMap<WebSocket, SocketAttachment>();

/** The attachment of a socket, or undefined when it has none we recognise. Never modify it: write a new one. */
export function readAttachment(socket: WebSocket): SocketAttachment | undefined {
  const known = attachments.get(socket);
  if (known) return known;
  const parsed = socketAttachmentSchema.safeParse(socket.deserializeAttachment());
  if (!parsed.success) return undefined;
  attachments.set(socket, Object.freeze(parsed.data));
  return parsed.data;
}

/** Stores `attachment` on the socket (it survives hibernation) and as the copy `readAttachment` returns. */
export function writeAttachment(socket: WebSocket, attachment: SocketAttachment): void {
  socket.serializeAttachment(attachment);
  attachments.set(socket, Object.freeze({ ...attachment }));
}

export const BRIDGE_RECORD_KEY = 'bridge';
export const CONNECTION_SEQ_KEY = 'connectionSeq';

export const bridgeRecordSchema = z.object({
  bridgeId: z.string(),
  version: z.string(),
  runners: z.array(z.string()),
  models: z.array(bridgeModelSchema),
  capacity: z.object({ maxConcurrent: z.number(), maxQueue: z.number() }),
  device: deviceSchema.optional(),
  connectedAt: z.number(),
  /** When the last bridge went away; null while one is connected. */
  disconnectedAt: z.number().nullable(),
});
export type BridgeRecord = z.infer<typeof bridgeRecordSchema>;

/** The stored record, or undefined when none (or an unreadable old one) is stored. */
export async function loadBridgeRecord(storage: DurableObjectStorage): Promise<BridgeRecord | undefined> {
  const parsed = bridgeRecordSchema.safeParse(await storage.get(BRIDGE_RECORD_KEY));
  return parsed.success ? parsed.data : undefined;
}

/** `GET /v1/bridge`: the contract's fields plus a few more. */
export interface BridgeStatus {
  connected: boolean;
  /** ISO 8601 time the current bridge connected, or null. */
  since: string | null;
  /** Every model the connected or last-seen bridge offers, as `local/<id>`. */
  models: Array<{ id: string; runner: string; state: string; bytes?: number; online: boolean }>;
  runners: string[];
  in_flight: number;
  bridge_id: string | null;
  /** ISO 8601: now-ish while connected (last heartbeat), else when it went away; null if never seen. */
  last_seen: string | null;
  draining: boolean;
  version: string | null;
  capacity: { maxConcurrent: number; maxQueue: number } | null;
  /** What the bridge reported of its machine (chip, memBytes, recommendedWorkingSetBytes), when it did. */
  device: BridgeDevice | null;
  /** ISO 8601 time the connected bridge stopped answering (no new requests go to it until it speaks), else null. */
  unresponsive_since: string | null;
}

export const bridgeStatusSchema = z.object({
  connected: z.boolean(),
  since: z.string().nullable(),
  models: z.array(
    // `runner` ends up in `x-agent-provider`: only header-safe names are believed.
    z.object({ id: z.string(), runner: z.string().regex(RUNNER_NAME_PATTERN), state: z.string(), bytes: z.number().optional(), online: z.boolean() }),
  ),
  runners: z.array(z.string()),
  in_flight: z.number(),
  bridge_id: z.string().nullable(),
  last_seen: z.string().nullable(),
  draining: z.boolean(),
  version: z.string().nullable(),
  capacity: z.object({ maxConcurrent: z.number(), maxQueue: z.number() }).nullable(),
  device: deviceSchema.nullable().optional().transform((device) => device ?? null),
  unresponsive_since: z.string().nullable().optional().transform((since) => since ?? null),
});
