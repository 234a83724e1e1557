/**
 * What the chat, models, auth and errors suites share: the app built with a
 * fresh breaker and a quiet log, an env pointing every provider at this
 * suite's loopback mocks, and request builders. Runs inside workerd.
 */
import { env } from 'cloudflare:workers';
import OpenAI from 'openai';
import { inject } from 'vitest';
import { createApp, type AppOptions } from '../../functions/app.ts';
import { CircuitBreaker } from '../../functions/agents/circuit-breaker.ts';
import type { Env } from '../../functions/config.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { mockProviderClient, type MockProviderClient } from '../helpers/mock-provider-client.ts';
import type { MockProviderOrigins, MockSuite } from './setup-providers.ts';

export const GATEWAY_KEY = 'gw-test-key-7f3a9c1e5b';
export const PROVIDER_KEYS = {
  OPENAI_API_KEY: 'sk-test-openai-SENTINEL-4b1d',
  ANTHROPIC_API_KEY: 'sk-ant-test-SENTINEL-9e2c',
  GROQ_API_KEY: 'gsk_test_SENTINEL_51aa',
} as const;

export interface SuiteMocks {
  origins: MockProviderOrigins;
  openai: MockProviderClient;
  anthropic: MockProviderClient;
  groq: MockProviderClient;
  resetAll(): Promise<void>;
}

/** This suite's own mock providers. */
export function suiteMocks(suite: MockSuite): SuiteMocks {
  const origins = inject('mockProviders')[suite];
  const openai = mockProviderClient(origins.openai);
  const anthropic = mockProviderClient(origins.anthropic);
  const groq = mockProviderClient(origins.groq);
  return {
    origins,
    openai,
    anthropic,
    groq,
    resetAll: async () => {
      await Promise.all([openai.reset(), anthropic.reset(), groq.reset()]);
    },
  };
}

/** Vars a test may set or unset (undefined) on top of the suite's env. */
export type VarOverrides = Partial<Record<Exclude<keyof Env, 'BRIDGE_TUNNEL'>, string | undefined>>;

/** The Worker env with keys for OpenAI, Anthropic and Groq (not xAI), all pointed at the mocks. */
export function gatewayEnv(origins: MockProviderOrigins, overrides: VarOverrides = {}): Env {
  // The bindings wrangler.toml declares (the Durable Object namespace among them).
  const bindings = env as unknown as Env;
  return {
    ...bindings,
    GATEWAY_API_KEY: GATEWAY_KEY,
    ...PROVIDER_KEYS,
    XAI_API_KEY: undefined,
    TURSO_DATABASE_URL: undefined,
    AGENT_ONLINE_ENDPOINTS: JSON.stringify({
      openai: { base_url: `${origins.openai}/v1` },
      anthropic: { base_url: origins.anthropic },
      groq: { base_url: `${origins.groq}/v1` },
    }),
    ...overrides,
  };
}

/** xAI keyed and pointed at the OpenAI-flavored mock, which replays xAI's recordings as they are. */
export function xaiAtOpenAIMock(origins: MockProviderOrigins): VarOverrides {
  return {
    XAI_API_KEY: 'xai-test-SENTINEL-77c1',
    AGENT_ONLINE_ENDPOINTS: JSON.stringify({
      openai: { base_url: `${origins.openai}/v1` },
      anthropic: { base_url: origins.anthropic },
      xai: { base_url: `${origins.openai}/v1` },
    }),
  };
}

export interface TestGateway {
  fetch(path: string, init?: RequestInit, overrides?: VarOverrides): Promise<Response>;
  logs: string[];
}

/** A fresh app (own breaker, zero backoff jitter, captured log) against `origins`. */
export function testGateway(origins: MockProviderOrigins, options: AppOptions = {}): TestGateway {
  const logs: string[] = [];
  const app = createApp({
    breaker: new CircuitBreaker(),
    deps: { ...defaultRuntimeDeps, random: () => 0 },
    log: (line) => logs.push(line),
    ...options,
  });
  return {
    logs,
    fetch: async (path, init, overrides) => app.request(`http://gateway.test${path}`, init, gatewayEnv(origins, overrides)),
  };
}

/** The real openai SDK (no retries) whose requests `gateway` serves in this isolate; `onPath` sees each path it asks for. */
export function sdkClient(gateway: TestGateway, onPath: (path: string) => void = () => undefined): OpenAI {
  return new OpenAI({
    apiKey: GATEWAY_KEY,
    baseURL: 'http://gateway.test/v1',
    maxRetries: 0,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      onPath(url.pathname);
      return gateway.fetch(url.pathname + url.search, init);
    },
  });
}

/** A POST /v1/chat/completions init with the gateway key. */
export function chatInit(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

export const hello = [{ role: 'user', content: 'Say hello' }];

/** The `data:` payloads of an SSE body, in order (`[DONE]` included), and its comments. */
export async function readSse(response: Response): Promise<{ data: string[]; comments: string[] }> {
  const text = await response.text();
  const data: string[] = [];
  const comments: string[] = [];
  for (const block of text.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith(': ')) comments.push(line.slice(2));
    }
  }
  return { data, comments };
}
