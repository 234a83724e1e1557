/**
 * The tunnel's wire protocol, shared by the BridgeTunnel Durable Object (D) and
 * the bridge daemon (B): versioned JSON text frames `{v:1, t, id?, …}`, one per
 * WebSocket message. Documented in docs/tunnel-protocol.md.
 *
 * Objects are parsed leniently (unknown keys are dropped, not refused) so a peer
 * one minor revision ahead still talks to us; `v` changes only on a breaking change.
 */
import * as z from 'zod';
import { deltaEventSchema, statsSchema, usageSchema } from './chat-events.ts';
import { safeParseJson } from './validate.ts';

export const TUNNEL_PROTOCOL_VERSION = 1;
/** Offered in `Sec-WebSocket-Protocol` by the bridge and echoed by the gateway. */
export const TUNNEL_SUBPROTOCOL = 'localagent.v1';
/** Largest frame either side sends or accepts (bytes of UTF-8). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * The heartbeat, byte for byte: the Durable Object answers it with
 * `setWebSocketAutoResponse`, so an idle bridge never wakes the object.
 */
export const PING_FRAME = '{"t":"ping"}';
export const PONG_FRAME = '{"t":"pong"}';
/**
 * The handshake bound on both ends: the bridge waits this long for `welcome`
 * after its hello, and the gateway this long for a hello after the upgrade.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often the bridge pings: the gateway sends it in `welcome`, and it is the bridge's default until then. */
export const HEARTBEAT_SEC = 25;
/**
 * How long the gateway waits for the bridge's first word about a request (an
 * `ack`, or any frame with its id) before it fails the request
 * `bridge_unresponsive` and stops routing to that bridge until it speaks again.
 * A live bridge acks in the turn the `req` arrives, so a few seconds is only
 * ever missed by a frozen bridge (SIGSTOP, a wedged event loop, a dead link).
 */
export const ACK_TIMEOUT_MS = 3_000;
/**
 * The longest a request may sit without a frame once the bridge holds it: the
 * gateway's agents fail a committed stream silent for 30 s (`idleTimeoutMs` of
 * DEFAULT_FALLBACK_POLICY) and the attempt of one that has not committed at its
 * deadline. So while a request waits in the bridge's queue, or its model loads
 * (a first Hub download can take minutes, and the worker says nothing between
 * "load 0/1" and "loaded"), the bridge sends a `progress` frame at least this
 * often, well inside that deadline.
 */
export const PROGRESS_EVERY_MS = 5_000;
/**
 * A bridge silent this long (no frame, no ping: a heartbeat plus 10 s of slack
 * for a late timer on a loaded Mac) has missed its heartbeat: a new request
 * for it fails `bridge_unresponsive` at once.
 */
export const HEARTBEAT_MISSED_MS = HEARTBEAT_SEC * 1000 + 10_000;

/** WebSocket close codes the tunnel uses. */
export const TUNNEL_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** Auth failure or a policy violation (too many malformed frames). */
  policy: 1008,
  tooBig: 1009,
  /** A newer bridge connected with the same token; last connection wins. */
  superseded: 4001,
  unsupportedVersion: 4002,
  /** The connection said no valid hello within HANDSHAKE_TIMEOUT_MS (the bridge reconnects). */
  helloTimeout: 4003,
  /** The bridge's heartbeat went silent. */
  heartbeatTimeout: 4004,
} as const;

export const TUNNEL_ERROR_CODES = [
  'bad_request',
  'model_not_found',
  'runner_unavailable',
  'busy',
  'insufficient_memory',
  'load_failed',
  'runner_crashed',
  'bridge_offline',
  'bridge_unresponsive',
  'protocol',
  'cancelled',
  'timeout',
  'internal',
] as const;
export type TunnelErrorCode = (typeof TUNNEL_ERROR_CODES)[number];

const version = z.literal(TUNNEL_PROTOCOL_VERSION);
const requestId = z.string().min(1).max(128);

/**
 * Runner names and model ids travel on into HTTP headers (`x-agent-provider`,
 * `x-agent-model: local/<id>`), where a newline or a non-Latin-1 character
 * makes `Headers` throw: both are held to a header-safe charset here.
 */
export const RUNNER_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Hub ids (`mlx-community/Llama-3.2-3B-Instruct-4bit`), Ollama-style tags (`qwen2.5:7b`), revisions (`@main`). */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9._:@+\-/]{1,256}$/;

/** True when `name` may be a runner name on the wire (and in `x-agent-provider`). */
export function isValidRunnerName(name: string): boolean {
  return RUNNER_NAME_PATTERN.test(name);
}

/** True when `id` may be a model id on the wire (and, after `local/`, in `x-agent-model`). */
export function isValidModelId(id: string): boolean {
  return MODEL_ID_PATTERN.test(id);
}

const runnerName = z.string().regex(RUNNER_NAME_PATTERN, 'must be 1-64 letters, digits, ., _ or -');
const modelId = z.string().regex(MODEL_ID_PATTERN, 'must be 1-256 letters, digits or . _ : @ + - /');

/**
 * The chat body of a `req` frame, checked only for what every bridge needs
 * (a model name, a non-empty list of messages with roles). Everything else is
 * kept as sent: the gateway validated it, and a bridge one version behind
 * must still receive a request that carries a field it does not know yet.
 * The bridge reads the fields it understands with its own chat schema.
 */
export const requestBodySchema = z.looseObject({
  model: z.string().max(256).optional(),
  messages: z
    .array(z.looseObject({ role: z.string().min(1).max(64) }))
    .min(1)
    .max(100_000),
});
export type RequestBody = z.infer<typeof requestBodySchema>;

export const bridgeModelSchema = z.object({
  /** The id after `local/`. */
  id: modelId,
  state: z.string().min(1).max(32),
  runner: runnerName,
  bytes: z.number().min(0).optional(),
  ctx: z.number().int().min(0).optional(),
});
export type BridgeModel = z.infer<typeof bridgeModelSchema>;

const capacitySchema = z.object({ maxConcurrent: z.number().int().min(1), maxQueue: z.number().int().min(0) });

/** What the bridge knows of its machine; any field may be missing (filled in once known). */
export const deviceSchema = z.object({
  chip: z.string().max(128).optional(),
  memBytes: z.number().min(0).optional(),
  recommendedWorkingSetBytes: z.number().min(0).optional(),
});
export type BridgeDevice = z.infer<typeof deviceSchema>;

const helloFrame = z.object({
  v: version,
  t: z.literal('hello'),
  bridgeId: z.string().min(1).max(128),
  version: z.string().max(64),
  protocols: z.array(z.number().int()).min(1).max(16),
  runners: z.array(runnerName).max(64),
  models: z.array(bridgeModelSchema).max(4096),
  capacity: capacitySchema,
  device: deviceSchema.optional(),
});

const welcomeFrame = z.object({
  v: version,
  t: z.literal('welcome'),
  sessionId: z.string().min(1).max(128),
  heartbeatSec: z.number().int().min(1).max(3600),
  maxFrameBytes: z.number().int().min(1024),
});

const requestFrame = z.object({
  v: version,
  t: z.literal('req'),
  id: requestId,
  op: z.literal('chat.completions'),
  /** The model id after `local/`. */
  model: modelId,
  body: requestBodySchema,
  /** How long, from receipt, the bridge may work on this request. */
  deadlineMs: z.number().int().min(1),
});

const ackFrame = z.object({
  v: version,
  t: z.literal('ack'),
  id: requestId,
  state: z.enum(['queued', 'running']),
  queuePos: z.number().int().min(0).optional(),
  /** The runner that serves the request (`mlx`, `vllm`), the `x-agent-provider`. */
  runner: runnerName.optional(),
});

const progressFrame = z.object({
  v: version,
  t: z.literal('progress'),
  id: requestId,
  phase: z.enum(['load', 'prefill', 'queued']),
  done: z.number().min(0).optional(),
  total: z.number().min(0).optional(),
});

const deltaFrame = z.object({
  v: version,
  t: z.literal('delta'),
  id: requestId,
  /** 0, 1, 2, … per request: a gap or repeat is a protocol error. */
  seq: z.number().int().min(0),
  events: z.array(deltaEventSchema).min(1).max(100_000),
});

const endFrame = z.object({
  v: version,
  t: z.literal('end'),
  id: requestId,
  finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'cancelled', 'error']),
  usage: usageSchema.optional(),
  stats: statsSchema.optional(),
});

const errorFrame = z.object({
  v: version,
  t: z.literal('err'),
  id: requestId.optional(),
  // A code from a newer peer still ends the request (as `internal`) instead of making the frame unreadable.
  code: z.enum(TUNNEL_ERROR_CODES).catch('internal'),
  message: z.string().max(4096),
  retryable: z.boolean(),
  retryAfterMs: z.number().int().min(0).optional(),
  /** For `bad_request`: the request field at fault, so the gateway's 400 names it. */
  param: z.string().max(256).optional(),
});

const cancelFrame = z.object({
  v: version,
  t: z.literal('cancel'),
  id: requestId,
  reason: z.enum(['client_abort', 'deadline', 'shutdown', 'buffer_overflow', 'protocol_error']),
});

const modelsFrame = z.object({
  v: version,
  t: z.literal('models'),
  runners: z.array(runnerName).max(64).optional(),
  models: z.array(bridgeModelSchema).max(4096),
  /** Sent when what the bridge knows of its machine changed since hello (e.g. once MLX reported its working set). */
  device: deviceSchema.optional(),
});

const goawayFrame = z.object({
  v: version,
  t: z.literal('goaway'),
  reason: z.string().max(256),
  drainMs: z.number().int().min(0),
});

// Heartbeats carry no version so that the exact string PING_FRAME is a valid frame.
const pingFrame = z.object({ v: version.optional(), t: z.literal('ping') });
const pongFrame = z.object({ v: version.optional(), t: z.literal('pong') });

export const tunnelFrameSchema = z.discriminatedUnion('t', [
  helloFrame,
  welcomeFrame,
  requestFrame,
  ackFrame,
  progressFrame,
  deltaFrame,
  endFrame,
  errorFrame,
  cancelFrame,
  modelsFrame,
  goawayFrame,
  pingFrame,
  pongFrame,
]);

export type TunnelFrame = z.infer<typeof tunnelFrameSchema>;
export type TunnelFrameType = TunnelFrame['t'];
/** One frame type by its `t`: `FrameOf<'delta'>`. */
export type FrameOf<T extends TunnelFrameType> = Extract<TunnelFrame, { t: T }>;
/** A frame as a sender writes it: `v` is filled in by `encodeTunnelFrame`. */
export type OutgoingFrame<T extends TunnelFrameType = TunnelFrameType> = T extends TunnelFrameType
  ? Omit<FrameOf<T>, 'v'>
  : never;

export type FrameParseResult =
  | { ok: true; frame: TunnelFrame }
  | { ok: false; kind: 'json' | 'shape' | 'version'; message: string };

/** Parses one text message; never throws. `kind: 'version'` means a peer speaking another major version. */
export function parseTunnelFrame(text: string): FrameParseResult {
  const json = safeParseJson(text);
  if (!json.ok) return { ok: false, kind: 'json', message: 'frame is not JSON' };
  const value = json.value;
  if (typeof value === 'object' && value !== null && 'v' in value && value.v !== TUNNEL_PROTOCOL_VERSION) {
    return { ok: false, kind: 'version', message: `unsupported protocol version ${JSON.stringify(value.v)}` };
  }
  const parsed = tunnelFrameSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    return { ok: false, kind: 'shape', message: `invalid frame${where}: ${issue?.message ?? 'bad value'}` };
  }
  return { ok: true, frame: parsed.data };
}

/** Serializes a frame with the protocol version stamped on (ping/pong stay the exact heartbeat strings). */
export function encodeTunnelFrame(frame: OutgoingFrame): string {
  if (frame.t === 'ping') return PING_FRAME;
  if (frame.t === 'pong') return PONG_FRAME;
  return JSON.stringify({ v: TUNNEL_PROTOCOL_VERSION, ...frame });
}

const encoder = new TextEncoder();

/** True when a text frame is over MAX_FRAME_BYTES of UTF-8 (cheap for the common small frame). */
export function exceedsFrameLimit(text: string): boolean {
  // Each UTF-16 unit is 1 to 3 bytes of UTF-8: only the middle ground needs encoding.
  if (text.length * 3 <= MAX_FRAME_BYTES) return false;
  if (text.length > MAX_FRAME_BYTES) return true;
  return encoder.encode(text).byteLength > MAX_FRAME_BYTES;
}
