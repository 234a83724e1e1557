/**
 * A primary that fails in each way a backup can fix, served by the backup, as
 * the official client sees it: the backup's answer, its name in the headers,
 * and every upstream attempt in `agent.attempts` / `x-agent-attempts`.
 * OpenAI's endpoint points at a port nothing listens on (connection refused);
 * Groq's per-attempt deadline is short so a stall is over quickly.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { findFreePort } from '../../scripts/sqld.ts';
import type { MockBehavior } from '../helpers/mock-provider.ts';
import { agentOf, readStream } from './stack-answers.ts';
import { startStack, type Stack } from './stack.ts';

const GROQ_ATTEMPT_TIMEOUT_MS = 400;
let stack: Stack;

beforeAll(async () => {
  const refusedPort = await findFreePort();
  stack = await startStack({
    database: false,
    endpoints: {
      openai: { base_url: `http://127.0.0.1:${refusedPort}/v1` },
      groq: { timeout_ms: GROQ_ATTEMPT_TIMEOUT_MS },
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(() => {
  stack.mocks.reset();
});

interface FailureCase {
  failure: string;
  primary: OnlineProvider;
  /** What the primary's mock does on every call; none: nothing listens. */
  behavior?: MockBehavior;
  /** Upstream attempts made on the primary before giving up on it. */
  primaryAttempts: number;
  backup: OnlineProvider;
}

const BACKUP_MODELS: Record<OnlineProvider, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  xai: 'grok-3',
  groq: 'llama-3.1-8b-instant',
};

// Retryable failures get two retries on the primary (docs/online-agent.md), then the backup;
// a stall gets none (functions/agents/fallback-runner.ts: `hung`), and neither does a target never
// reached (refused, or dropped without an answer) while a backup remains (`movesOnAtOnce`).
const CASES: FailureCase[] = [
  { failure: '429 rate limited', primary: 'xai', behavior: { kind: 'status', status: 429, headers: { 'retry-after': '0' } }, primaryAttempts: 3, backup: 'anthropic' },
  { failure: '500 server error', primary: 'groq', behavior: { kind: 'status', status: 500 }, primaryAttempts: 3, backup: 'anthropic' },
  { failure: '503 overloaded', primary: 'xai', behavior: { kind: 'status', status: 503 }, primaryAttempts: 3, backup: 'groq' },
  { failure: "529 (Anthropic's overloaded)", primary: 'anthropic', behavior: { kind: 'status', status: 529 }, primaryAttempts: 3, backup: 'xai' },
  { failure: 'connection refused', primary: 'openai', primaryAttempts: 1, backup: 'anthropic' },
  { failure: 'connection dropped without an answer', primary: 'anthropic', behavior: { kind: 'hangup' }, primaryAttempts: 1, backup: 'groq' },
  // A target that hung for a whole attempt is not asked again while a backup can use the time.
  { failure: 'a stall before the first token', primary: 'groq', behavior: { kind: 'stall' }, primaryAttempts: 1, backup: 'xai' },
];

const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

describe.each(CASES)('a primary failing with $failure', ({ failure, primary, behavior, primaryAttempts, backup }) => {
  // A model of its own per case: the circuit breaker counts per provider/model.
  const slug = failure.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  const primaryModel = `${primary}/primary-${slug}`;
  const backupModel = `${backup}/${BACKUP_MODELS[backup]}`;

  beforeEach(() => {
    if (behavior) stack.mocks.providers[primary].setDefault(behavior);
  });

  it('is served by the backup, with every attempt in the body and the headers', async () => {
    stack.mocks.providers[backup].script([{ kind: 'reply', content: `Backup ${backup} answered` }]);
    const { data: completion, response } = await stack.client.chat.completions
      .create({ model: primaryModel, messages: ask('Say hello'), ...({ fallback_models: [backupModel] } as object) })
      .withResponse();

    expect(completion.choices[0]?.message.content).toBe(`Backup ${backup} answered`);
    expect(completion.model).toBe(backupModel);
    expect(response.headers.get('x-agent-provider')).toBe(backup);
    expect(response.headers.get('x-agent-model')).toBe(backupModel);
    expect(response.headers.get('x-agent-attempts')).toBe(String(primaryAttempts + 1));

    const { attempts } = agentOf(completion);
    expect(attempts).toHaveLength(primaryAttempts + 1);
    for (const attempt of attempts.slice(0, primaryAttempts)) {
      expect(attempt).toMatchObject({ provider: primary, model_id: primaryModel });
      expect(attempt.status).toBeGreaterThanOrEqual(400);
      expect(attempt.error_type).toEqual(expect.any(String));
    }
    expect(attempts.at(-1)).toMatchObject({ provider: backup, model_id: backupModel, status: 200, error_type: null });
    if (behavior?.kind === 'status') expect(attempts[0]?.status).toBe(behavior.status);
    if (behavior) expect(stack.mocks.providers[primary].calls()).toHaveLength(primaryAttempts);
  });

  it('streams the backup answer, naming the backup in the headers', async () => {
    stack.mocks.providers[backup].script([{ kind: 'stream', deltas: ['Backup ', 'stream ', 'from ', backup] }]);
    const { data: stream, response } = await stack.client.chat.completions
      .create({ model: primaryModel, messages: ask('Stream'), stream: true, ...({ fallback_models: [backupModel] } as object) })
      .withResponse();
    expect(response.headers.get('x-agent-provider')).toBe(backup);
    expect(response.headers.get('x-agent-attempts')).toBe(String(primaryAttempts + 1));
    const streamed = await readStream(stream);
    expect(streamed.text).toBe(`Backup stream from ${backup}`);
    expect(streamed.model).toBe(backupModel);
    expect(streamed.finishReason).toBe('stop');
  });
});

describe('failures a backup cannot fix', () => {
  it('returns the caller mistake at once, without trying the backup', async () => {
    stack.mocks.providers.xai.script([{ kind: 'status', status: 400 }]);
    const failure = await stack.client.chat.completions
      .create({ model: 'xai/grok-4', messages: ask('x'), ...({ fallback_models: ['anthropic/claude-haiku-4-5'] } as object) })
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect(stack.mocks.providers.anthropic.calls()).toHaveLength(0);
  });

  it('answers 502 naming every attempt when the backup fails too', async () => {
    stack.mocks.providers.xai.setDefault({ kind: 'status', status: 503 });
    stack.mocks.providers.groq.setDefault({ kind: 'status', status: 500 });
    const failure = await stack.client.chat.completions
      .create({ model: 'xai/all-down', messages: ask('x'), ...({ fallback_models: ['groq/all-down'] } as object) })
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ status: 502, type: 'upstream_error' });
    const message = failure instanceof Error ? failure.message : '';
    expect(message).toMatch(/xai\/all-down/);
    expect(message).toMatch(/groq\/all-down/);
  });
});
