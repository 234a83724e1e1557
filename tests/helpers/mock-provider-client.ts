/**
 * Scripts a mock provider (`mock-provider.ts`) over its HTTP control plane, with
 * nothing but `fetch`: for tests that run where the mock object is out of reach
 * (inside workerd via @cloudflare/vitest-plugin, or in another process).
 *
 *   const mock = mockProviderClient(inject('openaiMockOrigin'));
 *   await mock.reset();
 *   await mock.script([{ kind: 'status', status: 429, headers: { 'retry-after': '0' } }]);
 *   ... call the gateway ...
 *   const calls = await mock.waitForCalls({ count: 2 });
 */
import {
  MOCK_CONTROL_PATHS,
  type MockBehavior,
  type MockWaitCondition,
  type RecordedCall,
} from './mock-provider-types.ts';

export type { MockBehavior, MockWaitCondition, RecordedCall } from './mock-provider-types.ts';

export interface MockProviderClient {
  /** Appends behaviors for the next chat calls (FIFO). */
  script(behaviors: MockBehavior[]): Promise<void>;
  /** The behavior used when the script is empty. */
  setDefault(behavior: MockBehavior): Promise<void>;
  /** Every recorded call so far. */
  calls(): Promise<RecordedCall[]>;
  /** Resolves once the mock has seen `count` calls (`aborted` of them aborted); rejects on timeout. */
  waitForCalls(condition: MockWaitCondition): Promise<RecordedCall[]>;
  /** Forgets script, calls and the custom default. */
  reset(): Promise<void>;
}

async function expectOk(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
  if (!response.ok) throw new Error(`mock provider ${what} failed with ${response.status}: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function callsOf(value: unknown): RecordedCall[] {
  // The control plane is our own test helper: its answer is trusted.
  return (value as { calls: RecordedCall[] }).calls;
}

/** A client for the mock provider listening at `origin` (`http://127.0.0.1:PORT`). */
export function mockProviderClient(origin: string, fetcher: typeof fetch = (input, init) => fetch(input, init)): MockProviderClient {
  const post = (path: string, body: unknown): Promise<Response> =>
    fetcher(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return {
    async script(behaviors) {
      await expectOk(await post(MOCK_CONTROL_PATHS.script, { behaviors }), 'script');
    },
    async setDefault(behavior) {
      await expectOk(await post(MOCK_CONTROL_PATHS.default, { behavior }), 'setDefault');
    },
    async calls() {
      return callsOf(await expectOk(await fetcher(`${origin}${MOCK_CONTROL_PATHS.calls}`), 'calls'));
    },
    async waitForCalls(condition) {
      return callsOf(await expectOk(await post(MOCK_CONTROL_PATHS.wait, condition), 'waitForCalls'));
    },
    async reset() {
      await expectOk(await post(MOCK_CONTROL_PATHS.reset, {}), 'reset');
    },
  };
}
