/**
 * The BridgeTunnel Durable Object with a fake bridge socket, driven through the
 * tunnel ChatModel exactly as LocalAgent drives it. Each test talks to its own
 * object (a fresh user id), so tests never share a bridge.
 */
import { env as workerEnv } from 'cloudflare:workers';
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { UpstreamChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { HANDSHAKE_TIMEOUT_MS, HEARTBEAT_SEC, PING_FRAME, TUNNEL_CLOSE } from '../../protocol/tunnel-frames.ts';
import { BRIDGE_OFFLINE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';
import { createTunnelChatModel, getBridgeStatus, listLocalModels } from '../../functions/tunnel/tunnel-model.ts';
import { connectFakeBridge, gatewayEnv, type FakeBridge } from '../helpers/fake-bridge.ts';

const env = gatewayEnv(workerEnv);

const newUser = (): string => `user-${crypto.randomUUID()}`;
/** A request as LocalAgent hands it to the tunnel model: the bare model id, no routing fields. */
const ask = (text: string, model = 'tiny'): UpstreamChatRequest => ({ model, messages: [{ role: 'user', content: text }], stream: true });

interface Outcome {
  events: ChatEvent[];
  error: unknown;
}

async function collect(stream: AsyncIterable<ChatEvent>, onEvent?: (event: ChatEvent) => void): Promise<Outcome> {
  const events: ChatEvent[] = [];
  try {
    for await (const event of stream) {
      events.push(event);
      onEvent?.(event);
    }
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

const textOf = (events: ChatEvent[]): string => events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');

/** Rejects when `promise` has not settled within `ms`: an upper bound, not a wait. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

describe('the tunnel with no bridge connected', () => {
  it('answers a local request at once with 503 bridge_offline and a retry-after', async () => {
    const model = createTunnelChatModel(env, newUser(), 'tiny');
    const outcome = await within(collect(model.stream({ request: ask('hi'), signal: new AbortController().signal })), 1000, 'the offline answer');
    expect(outcome.events).toEqual([]);
    expect(GatewayError.isInstance(outcome.error)).toBe(true);
    const error = outcome.error as GatewayError;
    expect(error.status).toBe(503);
    expect(error.code).toBe('bridge_offline');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(BRIDGE_OFFLINE_RETRY_AFTER_MS);
  });

  it('reports itself disconnected and lists no models before any bridge was seen', async () => {
    const userId = newUser();
    const status = await getBridgeStatus(env, userId);
    expect(status).toMatchObject({ connected: false, since: null, models: [], runners: [], in_flight: 0, last_seen: null });
  });
});

describe('a request through a connected bridge', () => {
  it('streams the bridge deltas back as chat events and names the runner as provider', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    const welcome = await bridge.hello([{ id: 'mlx-community/Tiny-4bit', state: 'loaded', runner: 'mlx' }]);
    expect(welcome.heartbeatSec).toBe(HEARTBEAT_SEC);
    expect(welcome.maxFrameBytes).toBe(1024 * 1024);

    const model = createTunnelChatModel(env, userId, 'mlx-community/Tiny-4bit');
    const request = ask('Say hi', 'mlx-community/Tiny-4bit');
    const outcome = collect(model.stream({ request, signal: new AbortController().signal }));

    const frame = await bridge.nextFrame('req');
    expect(frame.model).toBe('mlx-community/Tiny-4bit');
    expect(frame.op).toBe('chat.completions');
    // The agent's request as it was made, the object adding and removing nothing.
    expect(frame.body).toEqual(request);
    bridge.send({ t: 'ack', id: frame.id, state: 'queued', queuePos: 2, runner: 'mlx' });
    bridge.send({ t: 'progress', id: frame.id, phase: 'prefill', done: 10, total: 40 });
    bridge.send({
      t: 'delta',
      id: frame.id,
      seq: 0,
      events: [
        { type: 'reasoning-delta', text: 'thinking' },
        { type: 'text-delta', text: 'Hel' },
      ],
    });
    bridge.send({ t: 'delta', id: frame.id, seq: 1, events: [{ type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', arguments: '{}' }] });
    bridge.send({
      t: 'end',
      id: frame.id,
      finish_reason: 'stop',
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      stats: { ttft_ms: 12, generation_tps: 80 },
    });

    const { events, error } = await outcome;
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'progress', phase: 'queued', done: 2 },
      { type: 'progress', phase: 'prefill', done: 10, total: 40 },
      { type: 'reasoning-delta', text: 'thinking' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', arguments: '{}' },
      {
        type: 'finish',
        finishReason: 'stop',
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        stats: { ttft_ms: 12, generation_tps: 80 },
      },
    ]);
    expect(model.provider).toBe('mlx');
    expect(model.modelId).toBe('local/mlx-community/Tiny-4bit');
  });

  // 4,000 frames through workerd: seconds on a loaded 2-core machine; this pins correctness, not speed.
  it('carries 20 concurrent streams of 200 deltas each without mixing them up', { timeout: 30_000 }, async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello();
    // Acked on arrival, as the real bridge does: the deltas below only start once all 20 are in.
    bridge.ackEveryRequest();
    const streams = 20;
    const deltas = 200;
    const model = createTunnelChatModel(env, userId, 'tiny');
    const outcomes = Array.from({ length: streams }, (_, index) =>
      collect(model.stream({ request: ask(`stream-${index}`), signal: new AbortController().signal })),
    );

    const requests = await Promise.all(Array.from({ length: streams }, () => bridge.nextFrame('req')));
    const tagOf = (index: number): string => {
      const content = requests[index]?.body.messages[0]?.content;
      return typeof content === 'string' ? content : '';
    };
    // Interleave: delta i of every stream before delta i + 1 of any.
    for (let seq = 0; seq < deltas; seq += 1) {
      requests.forEach((frame, index) => {
        bridge.send({ t: 'delta', id: frame.id, seq, events: [{ type: 'text-delta', text: `${tagOf(index)}:${seq};` }] });
      });
    }
    for (const frame of requests) bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });

    const results = await Promise.all(outcomes);
    results.forEach((result, index) => {
      expect(result.error).toBeUndefined();
      const expected = Array.from({ length: deltas }, (_, seq) => `stream-${index}:${seq};`).join('');
      expect(textOf(result.events)).toBe(expected);
      expect(result.events.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
    });
    expect((await getBridgeStatus(env, userId)).in_flight).toBe(0);
  });

  it('turns bridge err frames into the matching gateway errors', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello();
    const model = createTunnelChatModel(env, userId, 'tiny');

    const missing = collect(model.stream({ request: ask('a'), signal: new AbortController().signal }));
    const first = await bridge.nextFrame('req');
    bridge.send({ t: 'err', id: first.id, code: 'model_not_found', message: 'No runner serves tiny', retryable: false });
    const missingError = (await missing).error as GatewayError;
    expect(missingError).toMatchObject({ status: 404, code: 'model_not_found', callerFault: true, retryable: false });

    const busy = collect(model.stream({ request: ask('b'), signal: new AbortController().signal }));
    const second = await bridge.nextFrame('req');
    bridge.send({ t: 'err', id: second.id, code: 'busy', message: 'Queue full', retryable: true, retryAfterMs: 1500 });
    const busyError = (await busy).error as GatewayError;
    expect(busyError).toMatchObject({ status: 429, code: 'busy', retryable: true, retryAfterMs: 1500 });

    const unreadable = collect(model.stream({ request: ask('c'), signal: new AbortController().signal }));
    const third = await bridge.nextFrame('req');
    bridge.send({ t: 'err', id: third.id, code: 'bad_request', message: 'Image parts are not supported', retryable: false, param: 'messages[0].content' });
    expect((await unreadable).error).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'messages[0].content', callerFault: true });
  });
});

describe('when one side goes away', () => {
  it('ends every pending stream with an error, and no finish, when the bridge disconnects mid-stream', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello();
    const model = createTunnelChatModel(env, userId, 'tiny');
    bridge.ackEveryRequest();
    const outcomes = Array.from({ length: 5 }, (_, index) => collect(model.stream({ request: ask(`s${index}`), signal: new AbortController().signal })));
    const requests = await Promise.all(outcomes.map(() => bridge.nextFrame('req')));
    // Three streams have started answering, two have not.
    for (const frame of requests.slice(0, 3)) {
      bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'partial' }] });
    }
    bridge.close(1001, 'bridge killed');

    const results = await within(Promise.all(outcomes), 2000, 'every stream ending');
    results.forEach((result, index) => {
      expect(result.events.some((event) => event.type === 'finish')).toBe(false);
      expect(textOf(result.events)).toBe(index < 3 ? 'partial' : '');
      expect(result.error).toMatchObject({ status: 503, code: 'bridge_offline' });
    });

    const status = await getBridgeStatus(env, userId);
    expect(status.connected).toBe(false);
    expect(status.in_flight).toBe(0);
    expect(status.models).toEqual([{ id: 'local/tiny', runner: 'test', state: 'offline', online: false }]);
    expect(await listLocalModels(env, userId)).toEqual([{ id: 'local/tiny', runner: 'test', state: 'offline', online: false }]);
  });

  it('sends the bridge a cancel frame when the client stops reading', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello();
    const model = createTunnelChatModel(env, userId, 'tiny');
    const iterator = model.stream({ request: ask('long story'), signal: new AbortController().signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    const frame = await bridge.nextFrame('req');
    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'Once' }] });
    expect(await first).toEqual({ done: false, value: { type: 'text-delta', text: 'Once' } });

    await iterator.return?.();
    const cancel = await within(bridge.nextFrame('cancel'), 2000, 'the cancel frame');
    expect(cancel).toMatchObject({ id: frame.id, reason: 'client_abort' });
    // A late delta for the cancelled request is dropped quietly.
    bridge.send({ t: 'delta', id: frame.id, seq: 1, events: [{ type: 'text-delta', text: ' upon' }] });
    expect((await getBridgeStatus(env, userId)).in_flight).toBe(0);
  });

  it('sends a cancel frame when the caller aborts the signal', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello();
    const controller = new AbortController();
    const model = createTunnelChatModel(env, userId, 'tiny');
    const outcome = collect(model.stream({ request: ask('x'), signal: controller.signal }), () => controller.abort(new Error('client left')));
    const frame = await bridge.nextFrame('req');
    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'a' }] });
    const cancel = await within(bridge.nextFrame('cancel'), 2000, 'the cancel frame');
    expect(cancel.id).toBe(frame.id);
    expect((await outcome).error).toMatchObject({ message: 'client left' });
  });
});

describe('names that end up in response headers', () => {
  it('ignores a runner name that could not be an x-agent-provider header, and still serves the request', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello([{ id: 'tiny', state: 'loaded', runner: 'mlx' }]);
    const model = createTunnelChatModel(env, userId, 'tiny');
    const outcome = collect(model.stream({ request: ask('hi'), signal: new AbortController().signal }));
    const frame = await bridge.nextFrame('req');
    bridge.send(JSON.stringify({ v: 1, t: 'ack', id: frame.id, state: 'running', runner: 'mlx\r\nx-injected: 1' }));
    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'ok' }] });
    bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
    const { events, error } = await outcome;
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('ok');
    expect(model.provider).toBe('mlx');
    expect(new Headers({ 'x-agent-provider': model.provider, 'x-agent-model': model.modelId }).get('x-agent-provider')).toBe('mlx');
  });

  it('refuses a hello whose models or runners could not travel in headers, so nothing unsafe is listed', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    bridge.send(
      JSON.stringify({
        v: 1,
        t: 'hello',
        bridgeId: 'b',
        version: 'test',
        protocols: [1],
        runners: ['mlx'],
        models: [{ id: 'tiny\nx-evil: 1', state: 'loaded', runner: 'mlx' }],
        capacity: { maxConcurrent: 1, maxQueue: 1 },
      }),
    );
    bridge.send(PING_FRAME);
    await bridge.nextFrame('pong');
    expect(bridge.received.some((frame) => frame.t === 'welcome')).toBe(false);
    expect(await listLocalModels(env, userId)).toEqual([]);

    await bridge.hello([{ id: 'tiny', state: 'loaded', runner: 'mlx' }]);
    expect((await listLocalModels(env, userId)).map((entry) => entry.id)).toEqual(['local/tiny']);
  });
});

describe('the device the bridge reports', () => {
  it('shows the device from hello in the status, updated by a later models frame', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    bridge.send({
      t: 'hello',
      bridgeId: 'mac',
      version: 'test',
      protocols: [1],
      runners: ['mlx'],
      models: [],
      capacity: { maxConcurrent: 1, maxQueue: 1 },
      device: { chip: 'Apple M9 Max', memBytes: 68_719_476_736 },
    });
    await bridge.nextFrame('welcome');
    expect((await getBridgeStatus(env, userId)).device).toEqual({ chip: 'Apple M9 Max', memBytes: 68_719_476_736 });

    const device = { chip: 'Apple M9 Max', memBytes: 68_719_476_736, recommendedWorkingSetBytes: 51_539_607_552 };
    bridge.send({ t: 'models', models: [{ id: 'tiny', state: 'loaded', runner: 'mlx' }], device });
    bridge.send(PING_FRAME);
    await bridge.nextFrame('pong');
    const status = await getBridgeStatus(env, userId);
    expect(status.device).toEqual(device);
    expect(status.models).toEqual([{ id: 'local/tiny', runner: 'mlx', state: 'loaded', online: true }]);
  });
});

describe('a caller that leaves while the request is being opened', () => {
  it('ends the stream with the abort reason at once and cancels the request at the bridge', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    // No models announced: the object has no runner to name, so nothing reaches the reader until the bridge answers.
    await bridge.hello([]);
    const controller = new AbortController();
    const model = createTunnelChatModel(env, userId, 'tiny');
    const iterator = model.stream({ request: ask('x'), signal: controller.signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    // The object is still opening the request when the caller goes away.
    controller.abort(new Error('client left early'));
    await expect(within(first, 2000, 'the stream ending')).rejects.toThrow('client left early');

    // The object still opens the request; its answer is cancelled as soon as it arrives.
    const frame = await within(bridge.nextFrame('req'), 2000, 'the request frame');
    const cancel = await within(bridge.nextFrame('cancel'), 2000, 'the cancel frame');
    expect(cancel).toMatchObject({ id: frame.id, reason: 'client_abort' });
    expect((await getBridgeStatus(env, userId)).in_flight).toBe(0);
  });

  it('cancels the request at the bridge when the caller leaves just as the bridge receives it', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello([]);
    const controller = new AbortController();
    bridge.onFrame((frame) => {
      if (frame.t === 'req') controller.abort(new Error('client left early'));
    });
    const model = createTunnelChatModel(env, userId, 'tiny');
    const outcome = collect(model.stream({ request: ask('x'), signal: controller.signal }));
    const frame = await bridge.nextFrame('req');
    expect((await within(outcome, 2000, 'the stream ending')).error).toMatchObject({ message: 'client left early' });
    const cancel = await within(bridge.nextFrame('cancel'), 2000, 'the cancel frame');
    expect(cancel).toMatchObject({ id: frame.id, reason: 'client_abort' });
    expect((await getBridgeStatus(env, userId)).in_flight).toBe(0);
  });
});

describe('bridge connections', () => {
  it('lets a newer bridge supersede the old one, whose pending requests fail cleanly', async () => {
    const userId = newUser();
    const oldBridge = await connectFakeBridge(env, userId);
    await oldBridge.hello(undefined, 'old');
    const model = createTunnelChatModel(env, userId, 'tiny');
    const stranded = collect(model.stream({ request: ask('old'), signal: new AbortController().signal }));
    await oldBridge.nextFrame('req');

    // The newcomer's valid hello, not its upgrade, is what replaces the old bridge.
    const newBridge = await connectFakeBridge(env, userId);
    await newBridge.hello(undefined, 'new');
    expect((await oldBridge.closed).code).toBe(TUNNEL_CLOSE.superseded);
    expect((await stranded).error).toMatchObject({ status: 503, code: 'bridge_offline' });

    const served = collect(model.stream({ request: ask('new'), signal: new AbortController().signal }));
    const frame = await newBridge.nextFrame('req');
    newBridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'fresh' }] });
    newBridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
    expect(textOf((await served).events)).toBe('fresh');
    expect((await getBridgeStatus(env, userId)).bridge_id).toBe('new');
  });

  it('lets no stray upgrade supersede the live bridge: not one that closes before hello, not one that stays silent', async () => {
    const userId = newUser();
    const live = await connectFakeBridge(env, userId);
    await live.hello(undefined, 'live');
    const model = createTunnelChatModel(env, userId, 'tiny');
    const servedBy = async (bridge: FakeBridge, text: string): Promise<string> => {
      const outcome = collect(model.stream({ request: ask(text), signal: new AbortController().signal }));
      const frame = await bridge.nextFrame('req');
      bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text }] });
      bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
      return textOf((await outcome).events);
    };

    const quitter = await connectFakeBridge(env, userId);
    quitter.close(1000, 'never mind');
    await quitter.closed;
    expect(await servedBy(live, 'after a quitter')).toBe('after a quitter');

    const silent = await connectFakeBridge(env, userId);
    expect(await servedBy(live, 'beside a silent one')).toBe('beside a silent one');
    expect((await getBridgeStatus(env, userId)).bridge_id).toBe('live');
    // The silent one is closed once the handshake time is over; the live bridge never hears of it.
    const closed = await within(silent.closed, HANDSHAKE_TIMEOUT_MS + 5_000, 'the silent connection closing');
    expect(closed.code).toBe(TUNNEL_CLOSE.helloTimeout);
    expect(await servedBy(live, 'still here')).toBe('still here');
    expect(live.socket.readyState).toBe(WebSocket.OPEN);
  }, HANDSHAKE_TIMEOUT_MS + 15_000);

  it('keeps serving a hibernated bridge after the object is evicted and woken again', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello(undefined, 'sleeper');
    await evictDurableObject(env.BRIDGE_TUNNEL.getByName(userId));

    const model = createTunnelChatModel(env, userId, 'tiny');
    const outcome = collect(model.stream({ request: ask('wake up'), signal: new AbortController().signal }));
    const frame = await bridge.nextFrame('req');
    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'awake' }] });
    bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
    expect(textOf((await outcome).events)).toBe('awake');
    expect((await getBridgeStatus(env, userId)).bridge_id).toBe('sleeper');
  });

  it('closes a bridge that floods malformed frames with 1008 and keeps serving the next one', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello();
    const garbage = ['not json', '{"v":1,"t":"nope"}', '{"v":1,"t":"delta","id":"ghost","seq":0,"events":[{"type":"text-delta","text":"x"}]}', '[]'];
    for (let index = 0; index < 1000 && bridge.socket.readyState === WebSocket.OPEN; index += 1) {
      bridge.send(garbage[index % garbage.length] ?? '');
    }
    expect((await bridge.closed).code).toBe(TUNNEL_CLOSE.policy);

    const next = await connectFakeBridge(env, userId);
    await next.hello();
    const status = await getBridgeStatus(env, userId);
    expect(status.connected).toBe(true);
  });

  it('closes a bridge that speaks another protocol version with 4002', async () => {
    const bridge = await connectFakeBridge(env, newUser());
    bridge.send('{"v":2,"t":"hello"}');
    expect((await bridge.closed).code).toBe(TUNNEL_CLOSE.unsupportedVersion);
  });

  it('closes a bridge that sends a frame over 1 MiB with 1009', async () => {
    const bridge = await connectFakeBridge(env, newUser());
    await bridge.hello();
    bridge.send(JSON.stringify({ v: 1, t: 'models', models: [], padding: 'x'.repeat(1024 * 1024) }));
    expect((await bridge.closed).code).toBe(TUNNEL_CLOSE.tooBig);
  });

  it('answers the heartbeat without involving the bridge code and reports the connection', async () => {
    const userId = newUser();
    const bridge = await connectFakeBridge(env, userId);
    await bridge.hello([{ id: 'tiny', state: 'loaded', runner: 'mlx', bytes: 1000 }]);
    bridge.send(PING_FRAME);
    await bridge.nextFrame('pong');
    bridge.send({ t: 'models', models: [{ id: 'tiny', state: 'available', runner: 'mlx' }, { id: 'big', state: 'loaded', runner: 'vllm' }], runners: ['mlx', 'vllm'] });
    bridge.send(PING_FRAME);
    await bridge.nextFrame('pong');
    const status = await getBridgeStatus(env, userId);
    expect(status).toMatchObject({ connected: true, bridge_id: 'fake-bridge', runners: ['mlx', 'vllm'], in_flight: 0 });
    expect(status.since).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(status.models).toEqual([
      { id: 'local/tiny', runner: 'mlx', state: 'available', online: true },
      { id: 'local/big', runner: 'vllm', state: 'loaded', online: true },
    ]);
  });
});
