/**
 * A client's request, sent to the whole app, reaches the bridge as a runner
 * takes it: the bare model id in the frame and in the body, the gateway's
 * routing fields (`agent_type`, `fallback_models`) gone, every other field as
 * the client sent it. The agent removes them once (`UpstreamChatRequest`); the
 * tunnel object forwards what it is given.
 */
import { env as workerEnv } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createTunnelChatModel } from '../../functions/tunnel/tunnel-model.ts';
import { connectFakeBridge, gatewayEnv } from '../helpers/fake-bridge.ts';
import { chatInit, suiteMocks, testGateway } from './chat-gateway-fixture.ts';

describe('the request a bridge receives', () => {
  const mocks = suiteMocks('shared');

  it('carries the bare model id and none of the routing fields', async () => {
    const userId = `user-${crypto.randomUUID()}`;
    const bridge = await connectFakeBridge(gatewayEnv(workerEnv), userId);
    await bridge.hello([{ id: 'mlx-community/Tiny-4bit', state: 'loaded', runner: 'mlx' }]);
    const gateway = testGateway(mocks.origins, { createLocalModel: (modelEnv, modelId) => createTunnelChatModel(modelEnv, userId, modelId) });
    const messages = [{ role: 'user', content: 'Say hi' }];

    const responding = gateway.fetch(
      '/v1/chat/completions',
      chatInit({
        model: 'local/mlx-community/Tiny-4bit',
        agent_type: 'local',
        fallback_models: ['openai/gpt-4o-mini'],
        messages,
        temperature: 0.2,
        top_k: 20,
        stream: true,
      }),
    );
    const frame = await bridge.nextFrame('req');
    expect(frame.model).toBe('mlx-community/Tiny-4bit');
    expect(frame.body).toEqual({ model: 'mlx-community/Tiny-4bit', messages, temperature: 0.2, top_k: 20, stream: true });

    bridge.send({ t: 'delta', id: frame.id, seq: 0, events: [{ type: 'text-delta', text: 'Hi' }] });
    bridge.send({ t: 'end', id: frame.id, finish_reason: 'stop' });
    const response = await responding;
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe('local/mlx-community/Tiny-4bit');
    await response.text();
    bridge.close();
  });
});
