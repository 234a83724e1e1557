/**
 * BridgeClient against a loopback stand-in for the gateway (real `ws` sockets),
 * driving the deterministic test handler. Every timer of the client (reconnect
 * delays, the welcome timeout, heartbeats, model polls, request deadlines) runs
 * on an injected fake clock that the tests advance.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BridgeClient, type BridgeClientOptions, type BridgeClientStatus } from '../../../bridge/connection/bridge-client.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { PING_FRAME, PONG_FRAME } from '../../../protocol/tunnel-frames.ts';
import type { BridgeHandler } from '../../../bridge/bridge-handler.ts';
import { createTestHandler, type TestHandler } from '../../helpers/test-runner.ts';
import { FakeClock } from './fake-clock.ts';
import { startFakeTunnelServer, type FakeTunnelServer, type TunnelPeer } from './fake-tunnel-server.ts';

const TOKEN = 'bridge-secret-4f9a1c2e7b';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ask = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

interface Harness {
  server: FakeTunnelServer;
  client: BridgeClient;
  handler: TestHandler;
  statuses: BridgeClientStatus[];
  logs: string[];
  clock: FakeClock;
  /** Resolves with the first status (from now on or already seen) matching `predicate`. */
  waitForStatus(predicate: (status: BridgeClientStatus) => boolean): Promise<BridgeClientStatus>;
  /** Waits for the next `waiting` status from now on and advances the clock past its delay; returns the delay. */
  reconnectAfterBackoff(): Promise<number>;
}

async function startHarness(
  overrides: Partial<BridgeClientOptions> = {},
  serverToken = TOKEN,
  wrapHandler: (handler: TestHandler) => BridgeHandler = (handler) => handler,
): Promise<Harness> {
  const server = await startFakeTunnelServer(serverToken);
  const handler = createTestHandler();
  const statuses: BridgeClientStatus[] = [];
  const logs: string[] = [];
  const clock = new FakeClock();
  const statusWaiters: Array<() => void> = [];
  const client = new BridgeClient({
    url: server.url,
    token: TOKEN,
    handler: wrapHandler(handler),
    onStatus: (status) => {
      statuses.push(status);
      for (const wake of statusWaiters.splice(0)) wake();
    },
    log: (line) => logs.push(line),
    ...overrides,
    deps: { sleep: clock.sleep, now: clock.now, ...overrides.deps },
  });
  cleanups.push(async () => {
    await client.stop({ drainMs: 0 });
    await server.close();
  });
  client.start();
  const waitForStatusFrom = (first: number, predicate: (status: BridgeClientStatus) => boolean): Promise<BridgeClientStatus> => {
    let seen = first;
    return new Promise((resolve) => {
      const check = (): void => {
        for (; seen < statuses.length; seen += 1) {
          const status = statuses[seen];
          if (status && predicate(status)) return resolve(status);
        }
        statusWaiters.push(check);
      };
      check();
    });
  };
  return {
    server,
    client,
    handler,
    statuses,
    logs,
    clock,
    waitForStatus: (predicate) => waitForStatusFrom(0, predicate),
    async reconnectAfterBackoff() {
      const waiting = await waitForStatusFrom(statuses.length, (status) => status.state === 'waiting');
      const delay = waiting.retryInMs ?? 0;
      await clock.advance(delay);
      return delay;
    },
  };
}

async function connected(harness: Harness): Promise<TunnelPeer> {
  const peer = await harness.server.nextPeer();
  await peer.welcome();
  await harness.waitForStatus((status) => status.state === 'connected');
  return peer;
}

function request(peer: TunnelPeer, id: string, text: string, model = 'tiny'): void {
  peer.send({ t: 'req', id, op: 'chat.completions', model, body: { ...ask(text), model }, deadlineMs: 60_000 });
}

describe('connecting', () => {
  it('dials /bridge/connect with the token in the Authorization header, never in the URL, and says hello', async () => {
    const harness = await startHarness({ maxConcurrent: 3, maxQueue: 7, bridgeId: 'my-mac' });
    const peer = await harness.server.nextPeer();
    const hello = await peer.welcome();
    expect(harness.server.upgrades[0]).toEqual({ url: '/bridge/connect', authorization: `Bearer ${TOKEN}`, protocol: 'localagent.v1' });
    expect(hello).toMatchObject({
      v: 1,
      bridgeId: 'my-mac',
      protocols: [1],
      runners: ['test'],
      capacity: { maxConcurrent: 3, maxQueue: 7 },
      models: [
        { id: 'tiny', state: 'loaded', runner: 'test', bytes: 1_000_000 },
        { id: 'sleepy', state: 'available', runner: 'test' },
      ],
    });
    expect((await harness.waitForStatus((status) => status.state === 'connected')).sessionId).toBe('session-1');
  });

  it('stops retrying, and says why, when the gateway refuses the token', async () => {
    const harness = await startHarness({}, 'a-different-token');
    const status = await harness.waitForStatus((entry) => entry.state === 'auth_failed');
    expect(status.reason).toContain('HTTP 401');
    // A retry would say `waiting` and dial again once its delay passed: let any delay pass.
    expect(harness.statuses.map((entry) => entry.state)).not.toContain('waiting');
    await harness.clock.advance(60_000);
    expect(harness.server.upgrades).toHaveLength(1);
    expect(harness.logs.join('\n')).toContain('BRIDGE_TOKEN');
    expect(harness.logs.join('\n')).not.toContain(TOKEN);
  });

  it('reconnects after failures with full-jitter delays that double up to the 30 s cap', async () => {
    const harness = await startHarness({ deps: { random: () => 0.999 } });
    const delays: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const peer = await harness.server.nextPeer();
      const waited = harness.reconnectAfterBackoff();
      peer.socket.close(1011, 'server restarting');
      delays.push(await waited);
    }
    await harness.server.nextPeer();
    const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
    expect(delays).toEqual(ceilings.map((ceiling) => Math.floor(0.999 * ceiling)));
  });

  it('starts again from the shortest delay after a connection that stayed up for a minute', async () => {
    const harness = await startHarness({ deps: { random: () => 0.999 } });
    const delays: number[] = [];
    for (let flaky = 0; flaky < 2; flaky += 1) {
      const peer = await harness.server.nextPeer();
      const waited = harness.reconnectAfterBackoff();
      peer.socket.close(1011, 'flaky');
      delays.push(await waited);
    }
    const stablePeer = await harness.server.nextPeer();
    await stablePeer.welcome();
    await harness.waitForStatus((status) => status.state === 'connected');
    await harness.clock.advance(61_000);
    const waited = harness.reconnectAfterBackoff();
    stablePeer.socket.close(1012, 'deploy');
    delays.push(await waited);
    await harness.server.nextPeer();
    expect(delays).toEqual([499, 999, 499]);
  });

  it('gives up on a connection whose hello gets no welcome within 10 s, and reconnects with backoff', async () => {
    const harness = await startHarness();
    const silent = await harness.server.nextPeer();
    await silent.nextFrame('hello');
    expect(harness.clock.pending()).toContain(10_000);
    const waited = harness.reconnectAfterBackoff();
    await harness.clock.advance(10_000);
    expect((await silent.closed).code).toBe(1006);
    await waited;
    expect(harness.statuses.find((status) => status.state === 'waiting')?.reason).toBe('no welcome from the gateway within 10000 ms');
    await connected(harness);
    expect(harness.server.upgrades).toHaveLength(2);
  });

  it('stops when a newer bridge supersedes it', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    peer.socket.close(4001, 'superseded by a newer bridge connection');
    const status = await harness.waitForStatus((entry) => entry.state === 'superseded');
    expect(status.reason).toContain('another bridge');
    expect(harness.statuses.map((entry) => entry.state)).not.toContain('waiting');
    await harness.clock.advance(60_000);
    expect(harness.server.upgrades).toHaveLength(1);
  });

  it('reconnects when two heartbeats in a row go unanswered, and not while pongs come back', async () => {
    const harness = await startHarness({ heartbeatMs: 25_000 });
    const peer = await connected(harness);
    const pingsSeen = (): number => peer.texts.filter((text) => text === PING_FRAME).length;

    // Answered pings keep the link.
    for (let beat = 1; beat <= 3; beat += 1) {
      await harness.clock.advance(25_000);
      await vi.waitFor(() => expect(pingsSeen()).toBe(beat));
      peer.socket.send(PONG_FRAME);
    }
    expect(harness.statuses.map((entry) => entry.state)).not.toContain('waiting');
    expect(harness.server.upgrades).toHaveLength(1);

    // Two silent beats, then the third finds the link dead.
    const waited = harness.reconnectAfterBackoff();
    await harness.clock.advance(25_000);
    await harness.clock.advance(25_000);
    await harness.clock.advance(25_000);
    await peer.closed;
    await waited;
    await harness.server.nextPeer();
    expect(harness.logs.join('\n')).toContain('heartbeat lost');
  });
});

describe('serving requests', () => {
  it('streams a request through the handler: ack with the runner, ordered deltas, end with usage', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'r1', 'tokens:30');
    expect(await peer.nextFrame('ack')).toMatchObject({ id: 'r1', state: 'running', runner: 'test' });
    const end = await peer.nextFrame('end');
    expect(end).toMatchObject({ id: 'r1', finish_reason: 'stop', usage: { completion_tokens: 30 } });
    const deltas = peer.texts.map((text) => JSON.parse(text) as { t: string; seq?: number; events?: Array<{ text: string }> }).filter((frame) => frame.t === 'delta');
    expect(deltas.map((frame) => frame.seq)).toEqual(deltas.map((_, index) => index));
    const text = deltas.flatMap((frame) => frame.events ?? []).map((event) => event.text).join('');
    expect(text).toBe(Array.from({ length: 30 }, (_, index) => `t${index} `).join(''));
  });

  it('acknowledges each request as it arrives, naming the runner, whether it runs, waits or is then refused', async () => {
    const harness = await startHarness({ maxConcurrent: 2, maxQueue: 4 });
    const peer = await connected(harness);
    request(peer, 'runs', 'hang');
    // Runs, but its body is one this bridge cannot read: still acknowledged first, then refused.
    peer.send({ t: 'req', id: 'refused', op: 'chat.completions', model: 'tiny', body: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], temperature: 'warm' }, deadlineMs: 60_000 });
    request(peer, 'waits', 'tokens:1');
    expect(await peer.nextFrame('ack', (frame) => frame.id === 'runs')).toMatchObject({ state: 'running', runner: 'test' });
    expect(await peer.nextFrame('ack', (frame) => frame.id === 'refused')).toMatchObject({ state: 'running', runner: 'test' });
    expect(await peer.nextFrame('ack', (frame) => frame.id === 'waits')).toMatchObject({ state: 'queued', queuePos: 1, runner: 'test' });
    expect(await peer.nextFrame('err', (frame) => frame.id === 'refused')).toMatchObject({ code: 'bad_request' });
    const order = peer.texts.map((text) => JSON.parse(text) as { t: string; id?: string }).filter((frame) => frame.id === 'refused').map((frame) => frame.t);
    expect(order).toEqual(['ack', 'err']);
    // One ack per request: a request that waited is not acknowledged again when it starts.
    peer.send({ t: 'cancel', id: 'runs', reason: 'client_abort' });
    expect(await peer.nextFrame('end', (frame) => frame.id === 'waits')).toMatchObject({ finish_reason: 'stop' });
    expect(peer.texts.filter((text) => text.includes('"t":"ack"') && text.includes('"id":"waits"'))).toHaveLength(1);
  });

  it('runs at most maxConcurrent requests, queues up to maxQueue and refuses the rest as busy', async () => {
    const harness = await startHarness({ maxConcurrent: 1, maxQueue: 1 });
    const peer = await connected(harness);
    request(peer, 'a', 'hang');
    request(peer, 'b', 'tokens:1');
    request(peer, 'c', 'tokens:1');
    expect(await peer.nextFrame('ack', (frame) => frame.id === 'b')).toMatchObject({ state: 'queued', queuePos: 1 });
    const busy = await peer.nextFrame('err', (frame) => frame.id === 'c');
    expect(busy).toMatchObject({ code: 'busy', retryable: true });
    expect(busy.retryAfterMs).toBeGreaterThan(0);

    peer.send({ t: 'cancel', id: 'a', reason: 'client_abort' });
    expect(await peer.nextFrame('end', (frame) => frame.id === 'a')).toMatchObject({ finish_reason: 'cancelled' });
    expect(await peer.nextFrame('end', (frame) => frame.id === 'b')).toMatchObject({ finish_reason: 'stop' });
  });

  it('aborts the runner when the gateway cancels the request', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'long', 'hang');
    await peer.nextFrame('progress', (frame) => frame.id === 'long');
    peer.send({ t: 'cancel', id: 'long', reason: 'client_abort' });
    const [call] = await harness.handler.waitForCalls(1);
    await call?.settled;
    expect(call?.aborted).toMatchObject({ code: 'cancelled', message: expect.stringContaining('Cancelled by the gateway') });
    expect(await peer.nextFrame('end', (frame) => frame.id === 'long')).toMatchObject({ finish_reason: 'cancelled' });
  });

  it('answers a model the handler does not serve with model_not_found', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'x', 'hello', 'no-such-model');
    expect(await peer.nextFrame('err')).toMatchObject({ id: 'x', code: 'model_not_found', retryable: false });
  });

  it('sends the deltas produced before a runner crash, then err runner_crashed', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'crash', 'tokens:10 fail:3');
    const error = await peer.nextFrame('err');
    expect(error).toMatchObject({ id: 'crash', code: 'runner_crashed', retryable: true });
    const frames = peer.texts.map((text) => JSON.parse(text) as { t: string; events?: Array<{ text: string }> });
    const errIndex = frames.findIndex((frame) => frame.t === 'err');
    const text = frames.slice(0, errIndex).filter((frame) => frame.t === 'delta').flatMap((frame) => frame.events ?? []).map((event) => event.text).join('');
    expect(text).toBe('t0 t1 t2 ');
  });

  it('tells the gateway when a request changes the model list', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'load', 'tokens:1', 'sleepy');
    expect(await peer.nextFrame('progress')).toMatchObject({ id: 'load', phase: 'load' });
    await peer.nextFrame('end');
    const models = await peer.nextFrame('models');
    expect(models.models).toContainEqual({ id: 'sleepy', state: 'loaded', runner: 'test' });
  });
});

describe('requests from a gateway that is newer than the bridge', () => {
  it('serves a request carrying fields this bridge does not know yet, without them', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    peer.socket.send(
      JSON.stringify({
        v: 1,
        t: 'req',
        id: 'future',
        op: 'chat.completions',
        model: 'tiny',
        body: {
          model: 'tiny',
          messages: [{ role: 'user', content: 'tokens:2', x_future_hint: 'none' }],
          brand_new_option: { level: 3 },
          stream_options: { include_usage: true, x_future_option: true },
        },
        deadlineMs: 60_000,
      }),
    );
    expect(await peer.nextFrame('end')).toMatchObject({ id: 'future', finish_reason: 'stop', usage: { completion_tokens: 2 } });
    const [call] = await harness.handler.waitForCalls(1);
    expect(call?.request).toEqual({ model: 'tiny', messages: [{ role: 'user', content: 'tokens:2' }], stream_options: { include_usage: true } });
    expect(harness.logs.join('\n')).toContain('brand_new_option');
  });

  it('answers a request frame it cannot read with err bad_request at once, naming the field', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    const frame = { v: 1, t: 'req', id: 'unreadable', op: 'chat.completions', model: 'tiny', deadlineMs: 60_000 };
    peer.socket.send(JSON.stringify({ ...frame, body: { messages: 'hello as a string' } }));
    const refused = await peer.nextFrame('err', (error) => error.id === 'unreadable');
    expect(refused).toMatchObject({ code: 'bad_request', retryable: false });
    expect(refused.message).toContain('body.messages');
    expect(refused.message).not.toContain('hello as a string');

    // A known field in a shape this bridge cannot read is refused the same way, by the bridge's own schema.
    peer.socket.send(JSON.stringify({ ...frame, id: 'odd-temperature', body: { messages: [{ role: 'user', content: 'hi' }], temperature: 'warm' } }));
    expect(await peer.nextFrame('err', (error) => error.id === 'odd-temperature')).toMatchObject({ code: 'bad_request', retryable: false });
    expect(harness.handler.calls).toHaveLength(0);
  });
});

describe('a handler that misbehaves', () => {
  it('answers err, and keeps serving, when choosing a runner throws', async () => {
    const harness = await startHarness({}, TOKEN, (handler) => ({
      ...handler,
      runnerFor: (modelId: string) => {
        if (modelId === 'cursed') throw new Error('registry exploded at /Users/me/private');
        return handler.runnerFor(modelId);
      },
    }));
    const peer = await connected(harness);
    request(peer, 'c1', 'tokens:1', 'cursed');
    const error = await peer.nextFrame('err', (frame) => frame.id === 'c1');
    expect(error).toMatchObject({ code: 'internal', retryable: true });
    expect(error.message).not.toContain('private');
    request(peer, 'ok', 'tokens:1');
    expect(await peer.nextFrame('end', (frame) => frame.id === 'ok')).toMatchObject({ finish_reason: 'stop' });
    expect(harness.logs.join('\n')).toContain('registry exploded');
  });

  it('ends a request that runs past its deadline with err timeout and stops the runner', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    peer.send({ t: 'req', id: 'slow', op: 'chat.completions', model: 'tiny', body: { ...ask('hang'), model: 'tiny' }, deadlineMs: 5_000 });
    await peer.nextFrame('progress', (frame) => frame.id === 'slow');
    await harness.clock.advance(4_999);
    await harness.clock.advance(1);
    expect(await peer.nextFrame('err', (frame) => frame.id === 'slow')).toMatchObject({ code: 'timeout', retryable: true });
    const [call] = await harness.handler.waitForCalls(1);
    await call?.settled;
    expect(call?.aborted).toMatchObject({ code: 'timeout' });
  });
});

describe('what the bridge tells the gateway about itself', () => {
  it('reports its device in hello, and again with the model list once more is known', async () => {
    let device: { chip?: string; memBytes?: number; recommendedWorkingSetBytes?: number } = { chip: 'Apple M9 Max', memBytes: 64e9 };
    const harness = await startHarness({ device: () => device });
    const peer = await harness.server.nextPeer();
    expect((await peer.welcome()).device).toEqual({ chip: 'Apple M9 Max', memBytes: 64e9 });
    await harness.waitForStatus((status) => status.state === 'connected');

    // MLX reports its working set once the worker runs; the next model push carries it.
    device = { ...device, recommendedWorkingSetBytes: 48e9 };
    request(peer, 'r', 'tokens:1');
    await peer.nextFrame('end');
    expect((await peer.nextFrame('models')).device).toEqual({ chip: 'Apple M9 Max', memBytes: 64e9, recommendedWorkingSetBytes: 48e9 });
  });

  it('leaves out models and runners whose names cannot travel in HTTP headers, and says so', async () => {
    const harness = await startHarness({}, TOKEN, (handler) => ({
      ...handler,
      runners: () => ['test', 'bad runner'],
      listModels: async () => [
        ...(await handler.listModels()),
        { id: 'my model\nX-Evil: 1', state: 'available' as const, runner: 'test' },
        { id: 'ok-model', state: 'available' as const, runner: 'büro' },
      ],
    }));
    const peer = await harness.server.nextPeer();
    const hello = await peer.welcome();
    expect(hello.runners).toEqual(['test']);
    expect(hello.models.map((model) => model.id)).toEqual(['tiny', 'sleepy']);
    await harness.waitForStatus((status) => status.state === 'connected');
    expect(harness.logs.join('\n')).toContain('not offering model id');
    expect(harness.logs.join('\n')).toContain('not offering runner name "bad runner"');
  });
});

describe('stopping', () => {
  it('sends goaway, lets a running request finish within drainMs, then closes 1000', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'r', 'tokens:3 delay:20');
    await peer.nextFrame('ack');
    const stopped = harness.client.stop({ drainMs: 10_000 });
    expect(await peer.nextFrame('goaway')).toMatchObject({ reason: 'shutdown', drainMs: 10_000 });
    request(peer, 'late', 'tokens:1');
    expect(await peer.nextFrame('err', (frame) => frame.id === 'late')).toMatchObject({ code: 'bridge_offline' });
    expect(await peer.nextFrame('end')).toMatchObject({ id: 'r', finish_reason: 'stop' });
    expect((await peer.closed).code).toBe(1000);
    await stopped;
    expect(harness.statuses.at(-1)?.state).toBe('stopped');
  });

  it('cancels what is still running when drainMs runs out', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    request(peer, 'stuck', 'hang');
    await peer.nextFrame('progress');
    const stopped = harness.client.stop({ drainMs: 20 });
    await peer.nextFrame('goaway');
    await harness.clock.advance(20);
    await stopped;
    expect(await peer.nextFrame('err')).toMatchObject({ id: 'stuck', code: 'bridge_offline' });
    expect((await peer.closed).code).toBe(1000);
    expect((await harness.handler.waitForCalls(1))[0]?.aborted).toMatchObject({ code: 'bridge_offline', message: expect.stringContaining('shutting down') });
  });
});
