/**
 * What the Messages suites share: the official Anthropic SDK (no retries)
 * whose requests a test gateway serves in this isolate, and a reader for
 * Anthropic's named SSE events.
 */
import Anthropic from '@anthropic-ai/sdk';
import { beforeEach } from 'vitest';
import { GATEWAY_KEY, suiteMocks, testGateway, type SuiteMocks, type TestGateway, type VarOverrides } from './chat-gateway-fixture.ts';
import type { MockSuite } from './setup-providers.ts';

export interface MessagesSuite {
  mocks: SuiteMocks;
  /** A fresh gateway for each test. */
  gateway(): TestGateway;
  /** The SDK against this test's gateway. */
  client(): Anthropic;
}

/** A suite's mocks, reset before each test, with a fresh gateway and SDK client per test. */
export function messagesSuite(suite: MockSuite): MessagesSuite {
  const mocks = suiteMocks(suite);
  let gateway: TestGateway | undefined;
  let client: Anthropic | undefined;
  beforeEach(async () => {
    gateway = testGateway(mocks.origins);
    client = anthropicClient(gateway);
    await mocks.resetAll();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('messagesSuite: used outside a test');
    return value;
  };
  return { mocks, gateway: () => ready(gateway), client: () => ready(client) };
}

/** The real @anthropic-ai/sdk against `gateway`; `overrides` change the env for its calls. */
export function anthropicClient(gateway: TestGateway, overrides: VarOverrides = {}, apiKey = GATEWAY_KEY): Anthropic {
  return new Anthropic({
    apiKey,
    baseURL: 'http://gateway.test',
    maxRetries: 0,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      return gateway.fetch(url.pathname + url.search, init, overrides);
    },
  });
}

/** A POST init for the Messages routes, keyed the Anthropic way (`x-api-key`). */
export function messagesInit(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'x-api-key': GATEWAY_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

export interface NamedEvent {
  event: string;
  data: string;
}

/** The named events of SSE text, in order (`event:` and its `data:` lines). */
export function namedEvents(text: string): NamedEvent[] {
  const events: NamedEvent[] = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return events;
}

/** The named events of an SSE response body. */
export async function readNamedEvents(response: Response): Promise<NamedEvent[]> {
  return namedEvents(await response.text());
}
