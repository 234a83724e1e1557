/**
 * A bridge that is connected but says nothing (frozen, wedged, a half-dead
 * link): the BridgeTunnel fails a request it does not acknowledge within
 * ACK_TIMEOUT_MS with 503 `bridge_unresponsive`, sends it no more requests
 * (they fail at once) until it speaks again, and a backup model serves
 * meanwhile. Each test has its own user, so its own object and bridge.
 */
import { env as workerEnv } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { UpstreamChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';
import { ACK_TIMEOUT_MS, PING_FRAME } from '../../protocol/tunnel-frames.ts';
import { BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';
import { createTunnelChatModel, getBridgeStatus } from '../../functions/tunnel/tunnel-model.ts';
import { connectFakeBridge, gatewayEnv, type FakeBridge } from '../helpers/fake-bridge.ts';
import { chatInit, suiteMocks, testGateway } from './chat-gateway-fixture.ts';

const env = gatewayEnv(workerEnv);
/** Room for workerd's scheduling on a loaded machine; the bound itself is ACK_TIMEOUT_MS. */
const SLACK_MS = 1_500;

const newUser = (): string => `user-${crypto.randomUUID()}`;
/** A request as LocalAgent hands it to the tunnel model: the bare model id, no routing fields. */
const ask = (text: string, model = 'tiny'): UpstreamChatRequest => ({ model, messages: [{ role: 'user', content: text }], stream: true });

/** Streams one request through the tunnel; resolves with its events, its error and how long it took. */
async function timed(stream: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error: unknown; ms: number }> {
  const startedAt = Date.now();
  const events: ChatEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events, error: undefined, ms: Date.now() - startedAt };
  } catch (error) {
    return { events, error, ms: Date.now() - startedAt };
  }
}

const requestsSeenBy = (bridge: FakeBridge): number => bridge.received.filter((frame) => frame.t === 'req').length;

/** A fresh user's fake bridge, welcomed, and the tunnel model for its `local/tiny`. */
async function welcomedBridge(): Promise<{ userId: string; bridge: FakeBridge; model: ChatModel }> {
  const userId = newUser();
  const bridge = await connectFakeBridge(env, userId);
  await bridge.hello();
  return { userId, bridge, model: createTunnelChatModel(env, userId, 'tiny') };
}

const send = (model: ChatModel, text: string): AsyncIterable<ChatEvent> => model.stream({ request: ask(text), signal: new AbortController().signal });

describe('a bridge that accepts a request and then says nothing', () => {
  it('fails it with bridge_unresponsive within the ack bound, fails the next at once, and serves again once the bridge speaks', async () => {
    const { userId, bridge, model } = await welcomedBridge();

    const unanswered = timed(send(model, 'anyone there?'));
    const frame = await bridge.nextFrame('req');
    const first = await unanswered;
    expect(GatewayError.isInstance(first.error)).toBe(true);
    expect(first.error).toMatchObject({ status: 503, code: 'bridge_unresponsive', retryable: true });
    expect((first.error as GatewayError).retryAfterMs).toBeGreaterThan(0);
    expect(first.events).toEqual([]);
    expect(first.ms).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS - 50);
    expect(first.ms).toBeLessThan(ACK_TIMEOUT_MS + SLACK_MS);
    // The bridge is told to drop it, so a bridge that wakes up does not run a request nobody waits for.
    expect(await bridge.nextFrame('cancel')).toMatchObject({ id: frame.id, reason: 'deadline' });

    const second = await timed(send(model, 'and now?'));
    expect(second.error).toMatchObject({ status: 503, code: 'bridge_unresponsive' });
    expect(second.ms).toBeLessThan(SLACK_MS);
    expect(requestsSeenBy(bridge)).toBe(1);
    const status = await getBridgeStatus(env, userId);
    expect(status.connected).toBe(true);
    expect(status.unresponsive_since).toMatch(/^\d{4}-\d\d-\d\dT/);

    // A heartbeat is enough, though the runtime answers it without waking the object.
    bridge.send(PING_FRAME);
    await bridge.nextFrame('pong');
    expect((await getBridgeStatus(env, userId)).unresponsive_since).toBeNull();
    const third = timed(send(model, 'back?'));
    const served = await bridge.nextFrame('req');
    bridge.send({ t: 'ack', id: served.id, state: 'running', runner: 'test' });
    bridge.send({ t: 'delta', id: served.id, seq: 0, events: [{ type: 'text-delta', text: 'back' }] });
    bridge.send({ t: 'end', id: served.id, finish_reason: 'stop' });
    const outcome = await third;
    expect(outcome.error).toBeUndefined();
    expect(outcome.events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('gives a bridge heard from meanwhile (a heartbeat) another window before its ack', async () => {
    const { bridge, model } = await welcomedBridge();
    const late = timed(send(model, 'big frame, slow link'));
    const frame = await bridge.nextFrame('req');
    // Alive: its heartbeat arrives within the first window, its ack only after it.
    await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS / 2));
    bridge.send(PING_FRAME);
    await bridge.nextFrame('pong');
    await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS / 2 + 500));
    bridge.send({ t: 'ack', id: frame.id, state: 'running', runner: 'test' });
    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'made it' }] });
    bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
    const outcome = await late;
    expect(outcome.error).toBeUndefined();
    expect(outcome.events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('')).toBe('made it');
    expect(bridge.received.some((received) => received.t === 'cancel')).toBe(false);
  });

  it('keeps a request the bridge acknowledged, however slow it then is', async () => {
    const { bridge, model } = await welcomedBridge();
    const slow = timed(send(model, 'think hard'));
    const frame = await bridge.nextFrame('req');
    bridge.send({ t: 'ack', id: frame.id, state: 'running', runner: 'test' });
    // Past the ack bound with nothing more said: acknowledged, so it is not the ack timer's to fail.
    await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS + 500));
    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'done' }] });
    bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
    const outcome = await slow;
    expect(outcome.error).toBeUndefined();
    expect(outcome.events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('')).toBe('done');
    expect(bridge.received.some((received) => received.t === 'cancel')).toBe(false);
  });
});

describe('a stuck bridge seen from the client', () => {
  const mocks = suiteMocks('shared');

  /** The whole app for a fresh user whose bridge says hello and then nothing. */
  async function gatewayWithSilentBridge(): Promise<{ gateway: ReturnType<typeof testGateway>; bridge: FakeBridge }> {
    const { userId, bridge } = await welcomedBridge();
    const gateway = testGateway(mocks.origins, { createLocalModel: (modelEnv, modelId) => createTunnelChatModel(modelEnv, userId, modelId) });
    return { gateway, bridge };
  }

  it('answers an OpenAI-shaped 503 with Retry-After without backups, and serves from the backup at once with them', async () => {
    const { gateway, bridge } = await gatewayWithSilentBridge();

    const startedAt = Date.now();
    const refused = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'local/tiny', messages: [{ role: 'user', content: 'hi' }] }));
    const refusedMs = Date.now() - startedAt;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe(String(BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS / 1000));
    expect(refused.headers.get('retry-after-ms')).toBe(String(BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS));
    const body = (await refused.json()) as { error: { message: string; type: string; param: unknown; code: string } };
    expect(body.error).toMatchObject({ type: 'service_unavailable', param: null, code: 'bridge_unresponsive' });
    expect(refusedMs).toBeLessThan(ACK_TIMEOUT_MS + SLACK_MS);
    expect(requestsSeenBy(bridge)).toBe(1);

    const backedUpAt = Date.now();
    const served = await gateway.fetch(
      '/v1/chat/completions',
      chatInit({ model: 'local/tiny', fallback_models: ['openai/gpt-4o-mini'], messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(served.status).toBe(200);
    expect(Date.now() - backedUpAt).toBeLessThan(SLACK_MS);
    expect(served.headers.get('x-agent-model')).toBe('openai/gpt-4o-mini');
    const completion = (await served.json()) as { agent: { attempts: Array<{ model_id: string; status: number; error_type: string | null }> } };
    expect(completion.agent.attempts.map((attempt) => [attempt.model_id, attempt.status, attempt.error_type])).toEqual([
      ['local/tiny', 503, 'bridge_unresponsive'],
      ['openai/gpt-4o-mini', 200, null],
    ]);
  });

  it('serves a request the stuck bridge left unacknowledged from the backup', async () => {
    const { gateway, bridge } = await gatewayWithSilentBridge();
    const startedAt = Date.now();
    const served = await gateway.fetch(
      '/v1/chat/completions',
      chatInit({ model: 'local/tiny', fallback_models: ['openai/gpt-4o-mini'], messages: [{ role: 'user', content: 'hi' }], stream: true }),
    );
    expect(served.status).toBe(200);
    expect(served.headers.get('x-agent-model')).toBe('openai/gpt-4o-mini');
    expect(await served.text()).toContain('data: [DONE]');
    expect(Date.now() - startedAt).toBeLessThan(ACK_TIMEOUT_MS + SLACK_MS);
    expect(requestsSeenBy(bridge)).toBe(1);
  });
});
