import { describe, expect, it } from 'vitest';
import {
  encodeTunnelFrame,
  exceedsFrameLimit,
  MAX_FRAME_BYTES,
  parseTunnelFrame,
  PING_FRAME,
  PONG_FRAME,
} from './tunnel-frames.ts';

describe('tunnel frames', () => {
  it('round-trips a request frame with the version stamped on', () => {
    const text = encodeTunnelFrame({
      t: 'req',
      id: 'r1',
      op: 'chat.completions',
      model: 'mlx-community/Llama-3.2-3B-Instruct-4bit',
      body: { messages: [{ role: 'user', content: 'hi' }], stream: true },
      deadlineMs: 60_000,
    });
    expect(JSON.parse(text)).toMatchObject({ v: 1, t: 'req', id: 'r1' });
    const parsed = parseTunnelFrame(text);
    expect(parsed.ok && parsed.frame.t === 'req' && parsed.frame.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('keeps the heartbeat the exact string the Durable Object auto-answers', () => {
    expect(encodeTunnelFrame({ t: 'ping' })).toBe('{"t":"ping"}');
    expect(encodeTunnelFrame({ t: 'pong' })).toBe(PONG_FRAME);
    expect(parseTunnelFrame(PING_FRAME)).toEqual({ ok: true, frame: { t: 'ping' } });
  });

  it('batches text, reasoning and tool-call pieces in one delta frame', () => {
    const parsed = parseTunnelFrame(
      '{"v":1,"t":"delta","id":"a","seq":0,"events":[{"type":"reasoning-delta","text":"hm"},{"type":"text-delta","text":"Hi"},{"type":"tool-call-delta","index":0,"id":"call_1","name":"f","arguments":"{"}]}',
    );
    expect(parsed.ok && parsed.frame.t === 'delta' && parsed.frame.events).toHaveLength(3);
  });

  it('ignores fields a newer peer adds, so minor revisions interoperate', () => {
    const parsed = parseTunnelFrame('{"v":1,"t":"ack","id":"a","state":"running","futureField":true}');
    expect(parsed).toEqual({ ok: true, frame: { v: 1, t: 'ack', id: 'a', state: 'running' } });
  });

  it.each([
    ['not JSON', 'hello', 'json'],
    ['an unknown type', '{"v":1,"t":"teleport"}', 'shape'],
    ['a delta without events', '{"v":1,"t":"delta","id":"a","seq":0,"events":[]}', 'shape'],
    ['an err with an unknown code', '{"v":1,"t":"err","id":"a","code":"oops","message":"x","retryable":false}', 'shape'],
    ['another major version', '{"v":2,"t":"hello"}', 'version'],
    ['a request body that is not a chat request', '{"v":1,"t":"req","id":"a","op":"chat.completions","model":"m","body":{"messages":[]},"deadlineMs":1}', 'shape'],
  ])('refuses %s without throwing', (_name, text, kind) => {
    const parsed = parseTunnelFrame(text);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.kind).toBe(kind);
  });

  it('measures the frame limit in UTF-8 bytes, not characters', () => {
    expect(exceedsFrameLimit('x'.repeat(MAX_FRAME_BYTES))).toBe(false);
    expect(exceedsFrameLimit('x'.repeat(MAX_FRAME_BYTES + 1))).toBe(true);
    expect(exceedsFrameLimit('é'.repeat(MAX_FRAME_BYTES / 2 + 1))).toBe(true);
    expect(exceedsFrameLimit('é'.repeat(MAX_FRAME_BYTES / 2))).toBe(false);
  });
});
