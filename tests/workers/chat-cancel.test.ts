import { beforeEach, describe, expect, it } from 'vitest';
import { chatInit, hello, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('chat-cancel');
let gateway: TestGateway;

// A fresh app per test: its own circuit breaker, so one test's failures never skip a provider in the next.
beforeEach(async () => {
  gateway = testGateway(mocks.origins);
  await mocks.resetAll();
});

describe('a client that goes away', () => {
  it('stopping reading a stream aborts the upstream call', async () => {
    await mocks.openai.script([{ kind: 'stream', deltas: ['a', 'b', 'c', 'd'], stallAfter: 2 }]);
    const response = await gateway.fetch('/v1/chat/completions', chatInit({ model: 'openai/gpt-4o', messages: hello, stream: true }));
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const calls = await mocks.openai.waitForCalls({ count: 1, aborted: 1 });
    expect(calls[0]?.aborted).toBe(true);
  });

  it('aborting the request before the first token aborts the upstream call', async () => {
    await mocks.anthropic.script([{ kind: 'stall' }]);
    const client = new AbortController();
    const pending = gateway.fetch('/v1/chat/completions', { ...chatInit({ model: 'anthropic/claude-sonnet-4-5', messages: hello }), signal: client.signal });
    await mocks.anthropic.waitForCalls({ count: 1 });
    client.abort();
    await pending.catch(() => undefined);
    const calls = await mocks.anthropic.waitForCalls({ count: 1, aborted: 1 });
    expect(calls[0]?.aborted).toBe(true);
  });
});
