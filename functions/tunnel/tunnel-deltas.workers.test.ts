/**
 * Inside workerd: a `delta` frame of many small pieces, sent by a fake bridge to
 * the real BridgeTunnel object, reaches the client of the real app as one SSE
 * chunk per frame, with the text and the tool calls exactly as the bridge sent them.
 */
import { env as workerEnv } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { readSseEvents } from '../../protocol/sse.ts';
import type { DeltaEvent } from '../../protocol/chat-events.ts';
import { connectFakeBridge, gatewayEnv } from '../../tests/helpers/fake-bridge.ts';
import { createApp } from '../app.ts';
import { CircuitBreaker } from '../agents/circuit-breaker.ts';
import type { Env } from '../config.ts';
import { createTunnelChatModel } from './tunnel-model.ts';

const GATEWAY_KEY = 'gw-test-key-deltas-0b7e';

/** The app with `local/…` served by this user's tunnel, and the request that streams from it. */
function gatewayFor(userId: string) {
  const env: Env = { ...gatewayEnv(workerEnv), GATEWAY_API_KEY: GATEWAY_KEY, TURSO_DATABASE_URL: undefined };
  const app = createApp({ breaker: new CircuitBreaker(), createLocalModel: (modelEnv, modelId) => createTunnelChatModel(modelEnv, userId, modelId), log: () => undefined });
  return {
    env,
    stream: () =>
      app.request(
        'http://gateway.test/v1/chat/completions',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'local/tiny', messages: [{ role: 'user', content: 'Go' }], stream: true }),
        },
        env,
      ),
  };
}

/** A fake bridge serving `local/tiny` to a fresh user, a streaming request to it, and the `req` frame the bridge got. */
async function streamingRequest() {
  const userId = `user-${crypto.randomUUID()}`;
  const gateway = gatewayFor(userId);
  const bridge = await connectFakeBridge(gateway.env, userId);
  await bridge.hello([{ id: 'tiny', state: 'loaded', runner: 'test' }]);
  const responding = gateway.stream();
  const request = await bridge.nextFrame('req');
  return { bridge, request, responding };
}

interface ChunkDelta {
  content?: string;
  refusal?: string;
  tool_calls?: Array<{ index: number; id?: string; function: { name?: string; arguments: string } }>;
}

/** The `choices[0].delta` of every data chunk but the role chunk and `[DONE]`. */
async function contentChunks(response: Response): Promise<ChunkDelta[]> {
  const deltas: ChunkDelta[] = [];
  if (!response.body) throw new Error('no body');
  for await (const event of readSseEvents(response.body)) {
    if (event.data === '[DONE]') break;
    const chunk = JSON.parse(event.data) as { choices: Array<{ delta: ChunkDelta & { role?: string }; finish_reason: string | null }> };
    const choice = chunk.choices[0];
    if (!choice || choice.delta.role !== undefined || choice.finish_reason !== null) continue;
    deltas.push(choice.delta);
  }
  return deltas;
}

describe('deltas through the tunnel', () => {
  it('a frame of 300 small text pieces reaches the client as one SSE chunk with the same text', async () => {
    const { bridge, request, responding } = await streamingRequest();
    const pieces = Array.from({ length: 300 }, (_, index) => `p${index} `);
    bridge.send({ t: 'delta', id: request.id, seq: 0, events: pieces.map((text): DeltaEvent => ({ type: 'text-delta', text })) });
    bridge.send({ t: 'delta', id: request.id, seq: 1, events: [{ type: 'text-delta', text: 'and ' }, { type: 'text-delta', text: 'more.' }] });
    bridge.send({ t: 'end', id: request.id, finish_reason: 'stop' });
    const response = await responding;
    expect(response.status).toBe(200);
    expect(await contentChunks(response)).toEqual([{ content: pieces.join('') }, { content: 'and more.' }]);
    bridge.close();
  });

  it('tool-call pieces keep their indices and their order', async () => {
    const { bridge, request, responding } = await streamingRequest();
    bridge.send({
      t: 'delta',
      id: request.id,
      seq: 0,
      events: [
        { type: 'text-delta', text: 'Look' },
        { type: 'text-delta', text: 'ing.' },
        { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', arguments: '{"city":' },
        { type: 'tool-call-delta', index: 0, arguments: '"Paris"}' },
        { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'time', arguments: '{"tz":' },
        { type: 'tool-call-delta', index: 1, arguments: '"CET"}' },
      ],
    });
    bridge.send({ t: 'end', id: request.id, finish_reason: 'tool_calls' });
    const response = await responding;
    expect(await contentChunks(response)).toEqual([
      { content: 'Looking.' },
      { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'time', arguments: '{"tz":"CET"}' } }] },
    ]);
    bridge.close();
  });

  it("a runner's refusal pieces reach the client as delta.refusal, not as content", async () => {
    const { bridge, request, responding } = await streamingRequest();
    bridge.send({ t: 'delta', id: request.id, seq: 0, events: [{ type: 'refusal-delta', text: "I can't" }, { type: 'refusal-delta', text: ' help.' }] });
    bridge.send({ t: 'end', id: request.id, finish_reason: 'stop' });
    const response = await responding;
    expect(await contentChunks(response)).toEqual([{ refusal: "I can't help." }]);
    bridge.close();
  });
});
