/**
 * Global setup of the workerd suites (runs on Node): loopback mock providers,
 * one per wire flavor for each suite, their origins handed to the tests as
 * `inject('mockProviders')[suite]`. Suites run in parallel and a mock's script
 * is first in, first out, so each suite gets mocks of its own; `shared` is for
 * suites that only need a provider that answers. Tests inside workerd script
 * them over the HTTP control plane (`mockProviderClient(origin)`) and point the
 * gateway at them through AGENT_ONLINE_ENDPOINTS. Closed afterwards.
 */
import type { TestProject } from 'vitest/node';
import { startMockProvider, type MockProvider } from '../helpers/mock-provider.ts';

export interface MockProviderOrigins {
  /** OpenAI flavor; base URL is `origin + '/v1'`. */
  openai: string;
  /** Anthropic flavor; base URL is the origin. */
  anthropic: string;
  /** Groq flavor (OpenAI's plus `x_groq.usage`); base URL is `origin + '/v1'`. */
  groq: string;
}

/** One set of mocks per suite that scripts them. */
export const MOCK_SUITES = ['shared', 'chat-stream', 'chat-json', 'chat-fallback', 'chat-cancel', 'chat-translation', 'models', 'errors', 'auth', 'responses', 'responses-store', 'responses-ai-sdk', 'responses-fallback', 'responses-transcripts', 'messages', 'messages-native', 'messages-transcripts', 'rag-archives'] as const;
export type MockSuite = (typeof MOCK_SUITES)[number];

declare module 'vitest' {
  export interface ProvidedContext {
    mockProviders: Record<MockSuite, MockProviderOrigins>;
  }
}

async function startSet(all: MockProvider[]): Promise<MockProviderOrigins> {
  const [openai, anthropic, groq] = await Promise.all([
    startMockProvider({ flavor: 'openai', models: ['gpt-4o', 'gpt-4o-mini'] }),
    startMockProvider({ flavor: 'anthropic', models: ['claude-sonnet-4-5', 'claude-haiku-4-5'] }),
    startMockProvider({ flavor: 'groq', models: ['llama-3.3-70b-versatile'] }),
  ]);
  all.push(openai, anthropic, groq);
  return { openai: openai.origin, anthropic: anthropic.origin, groq: groq.origin };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const all: MockProvider[] = [];
  const sets = await Promise.all(MOCK_SUITES.map(async (suite) => [suite, await startSet(all)] as const));
  project.provide('mockProviders', Object.fromEntries(sets) as Record<MockSuite, MockProviderOrigins>);
  return async () => {
    await Promise.all(all.map((mock) => mock.close()));
  };
}
