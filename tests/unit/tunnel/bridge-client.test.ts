/**
 * BridgeClient against a loopback stand-in for the gateway (real `ws` sockets),
 * driving the deterministic test handler. Backoff delays come from an injected
 * sleep; heartbeats run on fake interval timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BridgeClient, type BridgeClientOptions, type BridgeClientStatus } from '../../../bridge/connection/bridge-client.ts';
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { PING_FRAME, PONG_FRAME } from '../../../protocol/tunnel-frames.ts';
import { createTestHandler } from '../../helpers/test-runner.ts';
import { startFakeTunnelServer, type FakeTunnelServer, type TunnelPeer } from './fake-tunnel-server.ts';

const TOKEN = 'bridge-secret-4f9a1c2e7b';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ask = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

interface Harness {
  server: FakeTunnelServer;
  client: BridgeClient;
  handler: ReturnType<typeof createTestHandler>;
  statuses: BridgeClientStatus[];
  logs: string[];
  sleeps: number[];
  /** Resolves with the first status (from now on or already seen) matching `predicate`. */
  waitForStatus(predicate: (status: BridgeClientStatus) => boolean): Promise<BridgeClientStatus>;
}

async function startHarness(overrides: Partial<BridgeClientOptions> = {}, serverToken = TOKEN): Promise<Harness> {
  const server = await startFakeTunnelServer(serverToken);
  const handler = createTestHandler();
  const statuses: BridgeClientStatus[] = [];
  const logs: string[] = [];
  const sleeps: number[] = [];
  const statusWaiters: Array<() => void> = [];
  const client = new BridgeClient({
    url: server.url,
    token: TOKEN,
    handler,
    onStatus: (status) => {
      statuses.push(status);
      for (const wake of statusWaiters.splice(0)) wake();
    },
    log: (line) => logs.push(line),
    // Reconnect immediately but record the delay the backoff chose.
    deps: {
      sleep: async (ms, signal) => {
        sleeps.push(ms);
        signal?.throwIfAborted();
      },
    },
    ...overrides,
  });
  cleanups.push(async () => {
    await client.stop({ drainMs: 0 });
    await server.close();
  });
  client.start();
  return {
    server,
    client,
    handler,
    statuses,
    logs,
    sleeps,
    waitForStatus(predicate) {
      let seen = 0;
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
    expect(harness.server.upgrades).toHaveLength(1);
    expect(harness.logs.join('\n')).toContain('BRIDGE_TOKEN');
    expect(harness.logs.join('\n')).not.toContain(TOKEN);
  });

  it('reconnects after failures with full-jitter delays that double up to the 30 s cap', async () => {
    const harnessSleeps: number[] = [];
    const harness = await startHarness({ deps: { random: () => 0.999, sleep: async (ms) => void harnessSleeps.push(ms) } });
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const peer = await harness.server.nextPeer();
      peer.socket.close(1011, 'server restarting');
    }
    await harness.server.nextPeer();
    const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
    expect(harnessSleeps).toEqual(ceilings.map((ceiling) => Math.floor(0.999 * ceiling)));
  });

  it('starts again from the shortest delay after a connection that stayed up for a minute', async () => {
    let now = 1_000_000;
    const delays: number[] = [];
    const harness = await startHarness({ deps: { random: () => 0.999, now: () => now, sleep: async (ms) => void delays.push(ms) } });
    (await harness.server.nextPeer()).socket.close(1011, 'flaky');
    (await harness.server.nextPeer()).socket.close(1011, 'flaky');
    const stablePeer = await harness.server.nextPeer();
    await stablePeer.welcome();
    await harness.waitForStatus((status) => status.state === 'connected');
    now += 61_000;
    stablePeer.socket.close(1012, 'deploy');
    await harness.server.nextPeer();
    expect(delays).toEqual([499, 999, 499]);
  });

  it('stops when a newer bridge supersedes it', async () => {
    const harness = await startHarness();
    const peer = await connected(harness);
    peer.socket.close(4001, 'superseded by a newer bridge connection');
    const status = await harness.waitForStatus((entry) => entry.state === 'superseded');
    expect(status.reason).toContain('another bridge');
    expect(harness.server.upgrades).toHaveLength(1);
  });

  it('reconnects when two heartbeats in a row go unanswered, and not while pongs come back', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const harness = await startHarness({ heartbeatMs: 25_000 });
    const peer = await connected(harness);
    const pingsSeen = (): number => peer.texts.filter((text) => text === PING_FRAME).length;

    // Answered pings keep the link.
    for (let beat = 1; beat <= 3; beat += 1) {
      vi.advanceTimersByTime(25_000);
      await vi.waitFor(() => expect(pingsSeen()).toBe(beat));
      peer.socket.send(PONG_FRAME);
    }
    expect(harness.server.upgrades).toHaveLength(1);

    // Two silent beats, then the third finds the link dead.
    vi.advanceTimersByTime(25_000);
    vi.advanceTimersByTime(25_000);
    vi.advanceTimersByTime(25_000);
    await peer.closed;
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
    expect(call?.aborted).toBeDefined();
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

describe('stopping', () => {
  it('sends goaway, lets a running request finish within drainMs, then closes 1000', async () => {
    const harness = await startHarness({ deps: {} });
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
    const harness = await startHarness({ deps: {} });
    const peer = await connected(harness);
    request(peer, 'stuck', 'hang');
    await peer.nextFrame('progress');
    await harness.client.stop({ drainMs: 20 });
    expect(await peer.nextFrame('err')).toMatchObject({ id: 'stuck', code: 'bridge_offline' });
    expect((await peer.closed).code).toBe(1000);
    expect((await harness.handler.waitForCalls(1))[0]?.aborted).toBeDefined();
  });
});
