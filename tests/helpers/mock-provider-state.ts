/**
 * What a mock provider remembers: the scripted behaviors (FIFO), the default
 * behavior, and the recorded calls, with event-driven waiting on them (tests
 * wait for "2 calls, 1 aborted", never for a fixed time).
 */
import type { MockBehavior, MockWaitCondition, RecordedCall } from './mock-provider-types.ts';

/** The answer when nothing else was asked for. */
export const DEFAULT_MOCK_CONTENT = 'Hello from the mock provider.';
const DEFAULT_BEHAVIOR: MockBehavior = { kind: 'reply', content: DEFAULT_MOCK_CONTENT };
const DEFAULT_WAIT_MS = 5_000;

// Real timers, captured at load: a test that fakes timers must not freeze the mock.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
export { realClearTimeout, realSetTimeout };

export interface MockState {
  /** The next scripted behavior, or the default one. */
  nextBehavior(): MockBehavior;
  script(behaviors: MockBehavior[]): void;
  setDefault(behavior: MockBehavior): void;
  /** Starts recording a call; the returned object may be updated (`aborted`) later. */
  record(call: RecordedCall): RecordedCall;
  /** Marks a recorded call aborted by the client. */
  markAborted(call: RecordedCall): void;
  calls(): RecordedCall[];
  waitForCalls(condition: MockWaitCondition): Promise<RecordedCall[]>;
  queued(): number;
  reset(): void;
  /** Shutting down: pending waits fail, closed connections are not aborts. */
  close(): void;
  readonly closing: boolean;
}

export function createMockState(): MockState {
  let queue: MockBehavior[] = [];
  let fallbackBehavior = DEFAULT_BEHAVIOR;
  let recorded: RecordedCall[] = [];
  let closing = false;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const snapshot = (): RecordedCall[] => recorded.map((call) => ({ ...call, headers: { ...call.headers } }));

  return {
    nextBehavior: () => queue.shift() ?? fallbackBehavior,
    script(behaviors) {
      queue.push(...behaviors);
    },
    setDefault(behavior) {
      fallbackBehavior = behavior;
    },
    record(call) {
      recorded.push(call);
      notify();
      return call;
    },
    markAborted(call) {
      call.aborted = true;
      notify();
    },
    calls: snapshot,
    queued: () => queue.length,
    waitForCalls(condition) {
      const satisfied = (): boolean =>
        recorded.length >= (condition.count ?? 0) && recorded.filter((call) => call.aborted).length >= (condition.aborted ?? 0);
      if (satisfied()) return Promise.resolve(snapshot());
      return new Promise((resolve, reject) => {
        const timeoutMs = condition.timeoutMs ?? DEFAULT_WAIT_MS;
        const timer = realSetTimeout(() => {
          listeners.delete(check);
          const seen = snapshot().map((call) => ({ path: call.path, aborted: call.aborted }));
          reject(new Error(`mock provider: timed out after ${timeoutMs} ms waiting for ${JSON.stringify(condition)}; have ${JSON.stringify(seen)}`));
        }, timeoutMs);
        const check = (): void => {
          if (!satisfied() && !closing) return;
          realClearTimeout(timer);
          listeners.delete(check);
          if (satisfied()) resolve(snapshot());
          else reject(new Error('mock provider closed while waiting for calls'));
        };
        listeners.add(check);
      });
    },
    reset() {
      queue = [];
      recorded = [];
      fallbackBehavior = DEFAULT_BEHAVIOR;
    },
    close() {
      closing = true;
      notify();
    },
    get closing() {
      return closing;
    },
  };
}
