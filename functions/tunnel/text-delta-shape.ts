/**
 * The tunnel's common frame and line checked without zod. Nearly every frame
 * a bridge sends is a `delta` of text pieces, and nearly every NDJSON line the
 * Durable Object hands the Worker is the `events` line made from it; zod on
 * each (and again on each event) was most of a frame's CPU in workerd
 * (docs/benchmarks.md). These checks accept only values the full schemas
 * accept and parse to themselves (exactly the keys the schema keeps), so
 * anything else still goes through zod, with its error messages.
 */
import type { DeltaEvent } from '../../protocol/chat-events.ts';
import type { FrameOf } from '../../protocol/tunnel-frames.ts';
import { TUNNEL_PROTOCOL_VERSION } from '../../protocol/tunnel-frames.ts';

const TEXT_TYPES = new Set(['text-delta', 'reasoning-delta', 'refusal-delta']);
const MAX_REQUEST_ID = 128;
const MAX_EVENTS = 100_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly `{type, text}` of a text, reasoning or refusal piece. */
function isPlainTextEvent(value: unknown): value is DeltaEvent {
  if (!isRecord(value) || typeof value.text !== 'string' || !TEXT_TYPES.has(value.type as string)) return false;
  let keys = 0;
  for (const _key in value) keys += 1;
  return keys === 2;
}

/** A non-empty list of text pieces, within `max`. */
export function isPlainTextEvents(value: unknown, max = Number.POSITIVE_INFINITY): value is DeltaEvent[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) return false;
  for (const event of value) if (!isPlainTextEvent(event)) return false;
  return true;
}

/** A `delta` frame of text pieces, exactly as the frame schema would parse it; undefined for anything else. */
export function plainTextDeltaFrame(value: unknown): FrameOf<'delta'> | undefined {
  if (!isRecord(value) || value.t !== 'delta' || value.v !== TUNNEL_PROTOCOL_VERSION) return undefined;
  const { id, seq, events } = value;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_REQUEST_ID) return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (!isPlainTextEvents(events, MAX_EVENTS)) return undefined;
  let keys = 0;
  for (const _key in value) keys += 1;
  return keys === 5 ? (value as FrameOf<'delta'>) : undefined;
}
