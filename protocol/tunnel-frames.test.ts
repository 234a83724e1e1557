import { describe, expect, it } from 'vitest';
import {
  encodeTunnelFrame,
  exceedsFrameLimit,
  isValidModelId,
  isValidRunnerName,
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

  it('carries refusal pieces in a delta frame', () => {
    const parsed = parseTunnelFrame('{"v":1,"t":"delta","id":"a","seq":0,"events":[{"type":"refusal-delta","text":"I can\'t help."}]}');
    expect(parsed.ok && parsed.frame.t === 'delta' && parsed.frame.events).toEqual([{ type: 'refusal-delta', text: "I can't help." }]);
  });

  it('ignores fields a newer peer adds, so minor revisions interoperate', () => {
    const parsed = parseTunnelFrame('{"v":1,"t":"ack","id":"a","state":"running","futureField":true}');
    expect(parsed).toEqual({ ok: true, frame: { v: 1, t: 'ack', id: 'a', state: 'running' } });
  });

  it.each([
    ['not JSON', 'hello', 'json'],
    ['an unknown type', '{"v":1,"t":"teleport"}', 'shape'],
    ['a delta without events', '{"v":1,"t":"delta","id":"a","seq":0,"events":[]}', 'shape'],
    ['another major version', '{"v":2,"t":"hello"}', 'version'],
    ['a request body that is not a chat request', '{"v":1,"t":"req","id":"a","op":"chat.completions","model":"m","body":{"messages":[]},"deadlineMs":1}', 'shape'],
    ['a request without a role on a message', '{"v":1,"t":"req","id":"a","op":"chat.completions","model":"m","body":{"messages":[{"content":"hi"}]},"deadlineMs":1}', 'shape'],
  ])('refuses %s without throwing', (_name, text, kind) => {
    const parsed = parseTunnelFrame(text);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.kind).toBe(kind);
  });

  it('passes a request body with fields this version has never heard of through untouched', () => {
    // A gateway a version ahead may accept new OpenAI fields; the bridge decides what it can use.
    const body = {
      model: 'tiny',
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'UklGR', format: 'wav' } }] }],
      verbosity: 'low',
      prediction: { type: 'content', content: 'x' },
    };
    const parsed = parseTunnelFrame(JSON.stringify({ v: 1, t: 'req', id: 'r', op: 'chat.completions', model: 'tiny', body, deadlineMs: 1000 }));
    expect(parsed.ok && parsed.frame.t === 'req' && parsed.frame.body).toEqual(body);
  });

  it('turns an err code from a newer peer into internal instead of dropping the frame', () => {
    const parsed = parseTunnelFrame('{"v":1,"t":"err","id":"a","code":"gpu_on_fire","message":"x","retryable":false}');
    expect(parsed).toEqual({ ok: true, frame: { v: 1, t: 'err', id: 'a', code: 'internal', message: 'x', retryable: false } });
  });

  it.each([
    ['mlx-community/Llama-3.2-3B-Instruct-4bit', true],
    ['qwen2.5:7b-instruct', true],
    ['org/model@main', true],
    ['a+b_c.d-e', true],
    ['my model', false],
    ['tiny\r\nx-evil: 1', false],
    ['modèle', false],
    ['', false],
    ['x'.repeat(257), false],
  ])('accepts model id %j on the wire: %s', (id, valid) => {
    expect(isValidModelId(id)).toBe(valid);
    const parsed = parseTunnelFrame(JSON.stringify({ v: 1, t: 'models', models: [{ id, state: 'available', runner: 'mlx' }] }));
    expect(parsed.ok).toBe(valid);
  });

  it.each([
    ['mlx', true],
    ['vllm-light', true],
    ['my_runner.v2', true],
    ['ml/x', false],
    ['mlx\n', false],
    ['büro', false],
    ['r'.repeat(65), false],
  ])('accepts runner name %j in ack, hello and models: %s', (runner, valid) => {
    expect(isValidRunnerName(runner)).toBe(valid);
    expect(parseTunnelFrame(JSON.stringify({ v: 1, t: 'ack', id: 'a', state: 'running', runner })).ok).toBe(valid);
    const hello = { v: 1, t: 'hello', bridgeId: 'b', version: '1', protocols: [1], runners: [runner], models: [], capacity: { maxConcurrent: 1, maxQueue: 0 } };
    expect(parseTunnelFrame(JSON.stringify(hello)).ok).toBe(valid);
    expect(parseTunnelFrame(JSON.stringify({ v: 1, t: 'models', models: [{ id: 'm', state: 'loaded', runner }] })).ok).toBe(valid);
  });

  it('refuses a request frame for a model id that could not travel in a header', () => {
    const parsed = parseTunnelFrame(JSON.stringify({ v: 1, t: 'req', id: 'r', op: 'chat.completions', model: 'a\nb', body: { messages: [{ role: 'user', content: 'x' }] }, deadlineMs: 1 }));
    expect(!parsed.ok && parsed.message).toContain('at model');
  });

  it('measures the frame limit in UTF-8 bytes, not characters', () => {
    expect(exceedsFrameLimit('x'.repeat(MAX_FRAME_BYTES))).toBe(false);
    expect(exceedsFrameLimit('x'.repeat(MAX_FRAME_BYTES + 1))).toBe(true);
    expect(exceedsFrameLimit('é'.repeat(MAX_FRAME_BYTES / 2 + 1))).toBe(true);
    expect(exceedsFrameLimit('é'.repeat(MAX_FRAME_BYTES / 2))).toBe(false);
  });
});
