/**
 * The gateway's Responses wire output, byte for byte, for recorded upstream
 * transcripts: each upstream fixture (tests/fixtures/<provider>/) replayed
 * through `POST /v1/responses` with a fixed clock and id must give the
 * transcript in tests/fixtures/responses/. A change to the events, their order
 * or their fields shows up here as a diff of the wire itself.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import textTranscript from '../fixtures/responses/openai-stream-with-usage.sse?raw';
import toolTranscript from '../fixtures/responses/openai-tool-call.sse?raw';
import thinkingTranscript from '../fixtures/responses/anthropic-thinking.sse?raw';
import refusalTranscript from '../fixtures/responses/openai-refusal.sse?raw';
import { chatInit, suiteMocks, testGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('responses-transcripts');

beforeEach(async () => {
  await mocks.resetAll();
});

const fixed = { ...defaultRuntimeDeps, random: () => 0, now: () => Date.parse('2026-12-01T10:00:00.000Z'), generateId: () => 'fixture0000000000000000000000000' };

describe('Responses wire transcripts', () => {
  it.each([
    ['openai/stream-with-usage.sse', 'openai/gpt-4o', textTranscript],
    ['openai/tool-call.sse', 'openai/gpt-4o', toolTranscript],
    ['anthropic/thinking.sse', 'anthropic/claude-sonnet-4-5', thinkingTranscript],
    ['openai/refusal.sse', 'openai/gpt-4o', refusalTranscript],
  ])('%s upstream gives the recorded Responses stream', async (fixture, model, transcript) => {
    const mock = model.startsWith('openai/') ? mocks.openai : mocks.anthropic;
    await mock.script([{ kind: 'replay', fixture }]);
    const response = await testGateway(mocks.origins, { deps: fixed }).fetch('/v1/responses', chatInit({ model, input: 'Go', stream: true }));
    const text = await response.text();
    if (text !== transcript) console.log(`--- actual for ${fixture}\n${text}--- end`);
    expect(text).toBe(transcript);
  });
});
