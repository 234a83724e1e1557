/**
 * The fallback matrix on `POST /v1/responses`, each row run on chat
 * completions too: both surfaces sit on the one agent layer, so the same
 * upstream trouble must give the same status, the same attempts and the same
 * serving model on both, streaming and not.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { MockBehavior } from '../helpers/mock-provider-types.ts';
import { chatInit, hello, suiteMocks, testGateway, type TestGateway } from './chat-gateway-fixture.ts';

const mocks = suiteMocks('responses-fallback');
const models = { model: 'openai/gpt-4o', fallback_models: ['anthropic/claude-sonnet-4-5'] };

interface Outcome {
  status: number;
  model: string | null;
  attempts: string | null;
  /** `provider:status:error_type` per attempt, from the JSON body (the error's metadata headers when it failed). */
  trail: string[];
  /** The terminal stream event, or the error code. */
  end: string;
}

async function outcomeOf(response: Response, stream: boolean): Promise<Outcome> {
  const base = { status: response.status, model: response.headers.get('x-agent-model'), attempts: response.headers.get('x-agent-attempts') };
  if (response.status !== 200) {
    const body = (await response.json()) as { error: { code: string | null; type: string } };
    return { ...base, trail: [], end: body.error.code ?? body.error.type };
  }
  if (stream) {
    const text = await response.text();
    const end = text.includes('[DONE]') || text.includes('event: response.completed') ? 'completed' : 'failed';
    return { ...base, trail: [], end };
  }
  const body = (await response.json()) as { agent: { attempts: Array<{ provider: string; status: number; error_type: string | null }> } };
  return { ...base, trail: body.agent.attempts.map((attempt) => `${attempt.provider}:${attempt.status}:${attempt.error_type}`), end: 'completed' };
}

/** Runs the same scripted trouble on both routes (a fresh app each, so no breaker state carries over). */
async function onBothRoutes(primary: MockBehavior, backup: MockBehavior, stream: boolean): Promise<{ chat: Outcome; responses: Outcome }> {
  const run = async (path: string, body: Record<string, unknown>): Promise<Outcome> => {
    const gateway: TestGateway = testGateway(mocks.origins);
    await mocks.resetAll();
    await mocks.openai.setDefault(primary);
    await mocks.anthropic.setDefault(backup);
    return outcomeOf(await gateway.fetch(path, chatInit({ ...models, ...body, stream })), stream);
  };
  const chat = await run('/v1/chat/completions', { messages: hello });
  const responses = await run('/v1/responses', { input: 'Say hello' });
  return { chat, responses };
}

const answer: MockBehavior = { kind: 'reply', content: 'From the backup' };
const ROWS: Array<[string, MockBehavior, MockBehavior, number]> = [
  ['503 until the retries are used up, then the backup serves', { kind: 'status', status: 503 }, answer, 200],
  ['a 401, straight to the backup', { kind: 'status', status: 401 }, answer, 200],
  ['a dropped connection, then the backup', { kind: 'hangup' }, answer, 200],
  ['a 400 from the primary, returned at once', { kind: 'status', status: 400 }, answer, 400],
  ['503 everywhere: a 502 that names every attempt', { kind: 'status', status: 503 }, { kind: 'status', status: 503 }, 502],
];

beforeEach(async () => {
  await mocks.resetAll();
});

describe.each([false, true])('the fallback matrix, stream: %s', (stream) => {
  it.each(ROWS)('%s: the same answer on /v1/responses as on /v1/chat/completions', async (_row, primary, backup, status) => {
    const { chat, responses } = await onBothRoutes(primary, backup, stream);
    expect(responses.status).toBe(status);
    expect(responses).toEqual(chat);
  });
});

describe('after the commit point', () => {
  it('a stream that fails after its first token ends as that surface\'s failure on both, the backup never asked', async () => {
    const cut: MockBehavior = { kind: 'stream', deltas: ['one ', 'two '], errorAfter: 1 };
    const { chat, responses } = await onBothRoutes(cut, answer, true);
    expect(responses).toEqual(chat);
    expect(chat.end).toBe('failed');
    expect(await mocks.anthropic.calls()).toHaveLength(0);
  });
});
