import { describe, expect, it } from 'vitest';
import { parseTunnelFrame, TUNNEL_PROTOCOL_VERSION } from '../../protocol/tunnel-frames.ts';
import { plainTextDeltaFrame } from './text-delta-shape.ts';

const v = TUNNEL_PROTOCOL_VERSION;
const text = (piece: string) => ({ type: 'text-delta', text: piece });

// The fast path may only take what the schema takes, parsed to itself; the rest goes to zod.
const accepted: unknown[] = [
  { v, t: 'delta', id: 'r1', seq: 0, events: [text('a')] },
  { v, t: 'delta', id: 'x'.repeat(128), seq: 41, events: [text(''), { type: 'reasoning-delta', text: 'r' }, { type: 'refusal-delta', text: 'no' }] },
];
const declined: unknown[] = [
  { v, t: 'delta', id: '', seq: 0, events: [text('a')] },
  { v, t: 'delta', id: 'x'.repeat(129), seq: 0, events: [text('a')] },
  { v, t: 'delta', id: 'r', seq: -1, events: [text('a')] },
  { v, t: 'delta', id: 'r', seq: 1.5, events: [text('a')] },
  { v, t: 'delta', id: 'r', seq: 0, events: [] },
  { v, t: 'delta', id: 'r', seq: 0, events: [{ type: 'text-delta', text: 1 }] },
  { v, t: 'delta', id: 'r', seq: 0, events: [{ type: 'text-delta', text: 'a', extra: true }] },
  { v, t: 'delta', id: 'r', seq: 0, events: [{ type: 'tool-call-delta', index: 0, arguments: '{}' }] },
  { v, t: 'delta', id: 'r', seq: 0, events: [text('a')], extra: 1 },
  { v: v + 1, t: 'delta', id: 'r', seq: 0, events: [text('a')] },
  { v, t: 'end', id: 'r', finish_reason: 'stop' },
  [text('a')],
  null,
];

describe('plainTextDeltaFrame', () => {
  it.each(accepted.map((value) => [JSON.stringify(value).slice(0, 60), value]))('takes %s, which the schema parses to the same value', (_name, value) => {
    expect(plainTextDeltaFrame(value)).toBe(value);
    const parsed = parseTunnelFrame(JSON.stringify(value));
    expect(parsed).toEqual({ ok: true, frame: value });
  });

  it.each(declined.map((value) => [JSON.stringify(value)?.slice(0, 80) ?? 'undefined', value]))('leaves %s to the schema', (_name, value) => {
    expect(plainTextDeltaFrame(value)).toBeUndefined();
  });
});
