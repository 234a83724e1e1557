/**
 * The gateway's Messages wire output, byte for byte, for recorded upstream
 * transcripts of translated backends: each upstream fixture
 * (tests/fixtures/<provider>/) replayed through `POST /v1/messages` with a
 * fixed id must give the transcript in tests/fixtures/messages/. A change to
 * the events, their order or their fields shows up here as a diff of the wire.
 * (The passthrough's output is the upstream fixture itself: messages-native.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import refusalTranscript from '../fixtures/messages/openai-refusal.sse?raw';
import textTranscript from '../fixtures/messages/openai-stream-with-usage.sse?raw';
import toolTranscript from '../fixtures/messages/openai-tool-call.sse?raw';
import reasoningTranscript from '../fixtures/messages/xai-grok-3-mini-tool-call.sse?raw';
import { testGateway, xaiAtOpenAIMock } from './chat-gateway-fixture.ts';
import { messagesInit, messagesSuite } from './messages-fixture.ts';

const suite = messagesSuite('messages-transcripts');
const fixed = { ...defaultRuntimeDeps, random: () => 0, generateId: () => 'fixture0000000000000000000000000' };

describe('Messages wire transcripts over translated backends', () => {
  it.each([
    ['openai/stream-with-usage.sse', 'openai/gpt-4o', textTranscript],
    ['openai/tool-call.sse', 'openai/gpt-4o', toolTranscript],
    ['openai/refusal.sse', 'openai/gpt-4o', refusalTranscript],
    ['xai/grok-3-mini-tool-call.sse', 'xai/grok-3-mini', reasoningTranscript],
  ])('%s upstream gives the recorded Messages stream', async (fixture, model, transcript) => {
    await suite.mocks.openai.script([{ kind: 'replay', fixture }]);
    const gateway = testGateway(suite.mocks.origins, { deps: fixed });
    const response = await gateway.fetch(
      '/v1/messages',
      messagesInit({ model, max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Go' }] }),
      model.startsWith('xai/') ? xaiAtOpenAIMock(suite.mocks.origins) : {},
    );
    const text = await response.text();
    if (text !== transcript) console.log(`--- actual for ${fixture}\n${text}--- end`);
    expect(text).toBe(transcript);
  });
});
