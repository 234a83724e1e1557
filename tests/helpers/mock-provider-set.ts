/**
 * One loopback mock per online provider (OpenAI, Anthropic, xAI, Groq), and the
 * `AGENT_ONLINE_ENDPOINTS` value that points a gateway at all of them. For
 * globalSetup files (e.g. tests/workers/setup-providers.ts), e2e suites and
 * benchmarks:
 *
 *   const mocks = await startMockProviderSet();
 *   project.provide('mockOrigins', mocks.origins());           // for mockProviderClient
 *   env.AGENT_ONLINE_ENDPOINTS = mocks.endpointsJson();
 *   ...
 *   await mocks.close();
 */
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { startMockProvider, type MockProvider, type MockProviderOptions } from './mock-provider.ts';

export interface MockProviderSet {
  readonly providers: Record<OnlineProvider, MockProvider>;
  /** Each provider's origin (`http://127.0.0.1:PORT`), for `mockProviderClient`. */
  origins(): Record<OnlineProvider, string>;
  /** `{"openai": {"base_url": …}, …}` as JSON, for AGENT_ONLINE_ENDPOINTS; `extra` is merged per provider. */
  endpointsJson(extra?: Partial<Record<OnlineProvider, Record<string, unknown>>>): string;
  /** Resets every mock. */
  reset(): void;
  close(): Promise<void>;
}

const FLAVORS: Record<OnlineProvider, MockProviderOptions> = {
  openai: { flavor: 'openai' },
  anthropic: { flavor: 'anthropic' },
  xai: { flavor: 'openai', models: ['grok-3', 'grok-4'] },
  groq: { flavor: 'groq' },
};

/** Starts the four mocks; `options` adds to each provider's (e.g. an `apiKey` to enforce). */
export async function startMockProviderSet(options: Partial<Record<OnlineProvider, MockProviderOptions>> = {}): Promise<MockProviderSet> {
  const names = Object.keys(FLAVORS) as OnlineProvider[];
  const started = await Promise.all(names.map((name) => startMockProvider({ ...FLAVORS[name], ...options[name] })));
  const providers = Object.fromEntries(names.map((name, index) => [name, started[index]])) as Record<OnlineProvider, MockProvider>;
  return {
    providers,
    origins: () => Object.fromEntries(names.map((name) => [name, providers[name].origin])) as Record<OnlineProvider, string>,
    endpointsJson: (extra = {}) => JSON.stringify(Object.fromEntries(names.map((name) => [name, { base_url: providers[name].baseUrl, ...extra[name] }]))),
    reset: () => {
      for (const mock of started) mock.reset();
    },
    close: async () => {
      await Promise.all(started.map((mock) => mock.close()));
    },
  };
}
