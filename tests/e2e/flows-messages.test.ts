/**
 * The Anthropic Messages API as a Claude Code-style client uses it, with every
 * real process: the Worker under `wrangler dev`, sqld, the loopback provider
 * mocks, and the real bridge with its Python worker on the REAL mlx-lm serving
 * the tiny trained model (tests/models; its answers are
 * tiny-chat-answers.json). The client is the official
 * @anthropic-ai/sdk pointed at the gateway as ANTHROPIC_BASE_URL would point
 * it, with the gateway key as its API key, and bare model names that
 * MODEL_ALIASES maps to a local model and to Anthropic.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answerCase } from '../helpers/mlx-real-engine.ts';
import { TINY_CHAT_MODEL, type BridgeProcess } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

const MLX_MODEL = TINY_CHAT_MODEL;
const hello = answerCase('hello');
const SAY_HELLO = hello.messages[0]?.content ?? '';

let stack: Stack;
let bridge: BridgeProcess | undefined;
let client: Anthropic;
/** The anthropic-version each SDK request carried, to compare with what reached Anthropic. */
const sentVersions: string[] = [];

const ALIASES = { 'claude-haiku-4-5': MLX_MODEL, 'claude-sonnet': 'anthropic/claude-sonnet-4-5' };

beforeAll(async () => {
  stack = await startStack({ vars: { MODEL_ALIASES: JSON.stringify(ALIASES) } });
  // As Claude Code does with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY: the base URL without /v1, the key as x-api-key.
  client = new Anthropic({
    baseURL: stack.url,
    apiKey: stack.secrets.GATEWAY_API_KEY,
    maxRetries: 0,
    timeout: 60_000,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      sentVersions.push(new Headers(init?.headers).get('anthropic-version') ?? '');
      return fetch(input, init);
    },
  });
  bridge = await stack.startBridge('mlx', { engine: 'real' });
});

afterAll(async () => {
  await bridge?.stop();
  await stack?.stop();
});

beforeEach(() => {
  stack.mocks.reset();
});

describe('a local model over /v1/messages, through the real bridge', () => {
  it('answers messages.create under an alias, with the local metadata', async () => {
    const { data: message, response } = await client.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: SAY_HELLO }] })
      .withResponse();
    expect(message.content).toEqual([{ type: 'text', text: hello.completion }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.model).toBe(MLX_MODEL);
    expect(message.usage.output_tokens).toBeGreaterThanOrEqual(4);
    expect(response.headers.get('x-agent-backend')).toBe('local');
    expect(response.headers.get('x-agent-model')).toBe(MLX_MODEL);
  });

  it('streams a local answer piece by piece to messages.stream', async () => {
    const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: SAY_HELLO }] });
    const pieces: string[] = [];
    stream.on('text', (text) => pieces.push(text));
    const message = await stream.finalMessage();
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(hello.completion);
    expect(message.content).toEqual([{ type: 'text', text: hello.completion }]);
  });

  it('counts tokens for a local model with an estimate', async () => {
    const { data: count, response } = await client.messages
      .countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'count me' }] })
      .withResponse();
    expect(count.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-agent-token-count')).toBe('estimate');
  });
});

describe('anthropic/… over /v1/messages in the real Worker runtime', () => {
  it('streams Anthropic’s answer through, and Anthropic sees the client’s anthropic-version and the Worker’s own key', async () => {
    stack.mocks.providers.anthropic.script([{ kind: 'stream', deltas: ['Hello ', 'from ', 'Anthropic'] }]);
    const stream = client.messages.stream({ model: 'claude-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
    const message = await stream.finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from Anthropic' }]);
    const [call] = stack.mocks.providers.anthropic.calls();
    expect(call?.headers['x-api-key']).toBe(stack.secrets.ANTHROPIC_API_KEY);
    expect(call?.headers['anthropic-version']).toBe(sentVersions.at(-1));
    expect(sentVersions.at(-1)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((call?.body as { model: string }).model).toBe('claude-sonnet-4-5');
  });

  it('falls back to the local model when Anthropic is overloaded before the first token', async () => {
    stack.mocks.providers.anthropic.setDefault({ kind: 'status', status: 529 });
    const response = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': stack.secrets.GATEWAY_API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet', max_tokens: 64, fallback_models: ['claude-haiku-4-5'], messages: [{ role: 'user', content: SAY_HELLO }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-agent-model')).toBe(MLX_MODEL);
    const message = (await response.json()) as { content: unknown[]; agent: { attempts: Array<{ model_id: string }> } };
    expect(message.content).toEqual([{ type: 'text', text: hello.completion }]);
    expect(message.agent.attempts[0]?.model_id).toBe('anthropic/claude-sonnet-4-5');
  });
});
