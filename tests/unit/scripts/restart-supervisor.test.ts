/**
 * scripts/restart-supervisor.ts, which keeps sqld running under `npm start`:
 * servers that exit are started again with a doubling delay, a server that ran
 * long enough resets the count, too many quick failures give up, and nothing is
 * restarted once the stack is stopping. Fake servers, fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultRuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { restartDelayMs, superviseRestarts, type RestartPolicy, type SupervisedServer } from '../../../scripts/restart-supervisor.ts';

const POLICY: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 2_000, stableAfterMs: 30_000, maxRestarts: 4 };

interface FakeServer extends SupervisedServer {
  id: number;
  stopped: boolean;
  /** The process dies: exit code or signal name. */
  die(exit: number | string): void;
}

/** A start function whose servers the test kills; `failNext` makes the next starts reject. */
function fakeStarts() {
  const servers: FakeServer[] = [];
  let failures = 0;
  const start = async (): Promise<FakeServer> => {
    if (failures > 0) {
      failures -= 1;
      throw new Error('127.0.0.1:8080 is already in use\nmore detail');
    }
    let die!: (exit: number | string) => void;
    const exited = new Promise<number | string | null>((resolve) => (die = resolve));
    const server: FakeServer = {
      id: servers.length + 1,
      stopped: false,
      exited,
      die,
      async stop() {
        server.stopped = true;
        die('SIGTERM');
        await exited;
      },
    };
    servers.push(server);
    return server;
  };
  return { servers, start, failNext: (count: number) => (failures = count) };
}

function supervise(starts: ReturnType<typeof fakeStarts>, shutdown = new AbortController()) {
  const lines: string[] = [];
  const gaveUp: string[] = [];
  const restarted: number[] = [];
  const supervisor = superviseRestarts({
    name: 'sqld',
    start: starts.start,
    log: (line) => lines.push(line),
    shutdown: shutdown.signal,
    onRestarted: (server) => restarted.push(server.id),
    onGaveUp: (summary) => gaveUp.push(summary),
    deps: { now: () => Date.now(), sleep: defaultRuntimeDeps.sleep },
    policy: POLICY,
  });
  return { supervisor, lines, gaveUp, restarted, shutdown };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('restartDelayMs', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((restart) => restartDelayMs(restart, POLICY))).toEqual([250, 500, 1_000, 2_000, 2_000, 2_000]);
  });
});

describe('the restart supervisor', () => {
  it('starts a server that was killed again after the first delay, and says so', async () => {
    const starts = fakeStarts();
    const { supervisor, lines, restarted } = supervise(starts);
    const first = await supervisor.started;
    first.die('SIGKILL');
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toEqual(['sqld exited (signal SIGKILL); restarting in 250 ms']);
    expect(supervisor.current()).toBeUndefined();

    await vi.advanceTimersByTimeAsync(249);
    expect(starts.servers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts.servers).toHaveLength(2);
    expect(restarted).toEqual([2]);
    expect(supervisor.current()).toBe(starts.servers[1]);
  });

  it('doubles the delay for each quick failure in a row, failed starts included', async () => {
    const starts = fakeStarts();
    const { supervisor, lines } = supervise(starts);
    (await supervisor.started).die(1);
    await vi.advanceTimersByTimeAsync(0);
    starts.failNext(1);
    await vi.advanceTimersByTimeAsync(250);
    await vi.advanceTimersByTimeAsync(500);
    starts.servers[1]?.die('SIGSEGV');
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toEqual([
      'sqld exited (code 1); restarting in 250 ms',
      'sqld did not start again (127.0.0.1:8080 is already in use); restarting in 500 ms',
      'sqld exited (signal SIGSEGV); restarting in 1000 ms',
    ]);
  });

  it('starts the count afresh after a server that ran stably', async () => {
    const starts = fakeStarts();
    const { supervisor, lines } = supervise(starts);
    (await supervisor.started).die('SIGKILL');
    await vi.advanceTimersByTimeAsync(250);
    await vi.advanceTimersByTimeAsync(POLICY.stableAfterMs);
    starts.servers[1]?.die('SIGKILL');
    await vi.advanceTimersByTimeAsync(0);
    expect(lines.at(-1)).toBe('sqld exited (signal SIGKILL); restarting in 250 ms');
  });

  it('gives up after too many restarts in a row that never ran stably, and says why', async () => {
    const starts = fakeStarts();
    const { supervisor, lines, gaveUp } = supervise(starts);
    (await supervisor.started).die(101);
    for (let restart = 0; restart < POLICY.maxRestarts; restart++) {
      await vi.advanceTimersByTimeAsync(restartDelayMs(restart, POLICY));
      starts.servers.at(-1)?.die(101);
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(starts.servers).toHaveLength(1 + POLICY.maxRestarts);
    expect(gaveUp).toEqual(['sqld exited (code 101); it was restarted 4 times in a row and never ran 30 s, so it is not restarted again']);
    expect(lines.at(-1)).toBe(gaveUp[0]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts.servers).toHaveLength(1 + POLICY.maxRestarts);
    expect(supervisor.current()).toBeUndefined();
  });

  it('restarts nothing once the stack is stopping, and stop() stops the running server', async () => {
    const starts = fakeStarts();
    const { supervisor, lines, shutdown } = supervise(starts);
    const first = await supervisor.started;
    shutdown.abort();
    // A Ctrl-C reaches sqld too: its exit is then no crash.
    first.die('SIGINT');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lines).toEqual([]);
    expect(starts.servers).toHaveLength(1);
    await supervisor.stop();
  });

  it('cancels a restart that is waiting when the stack stops', async () => {
    const starts = fakeStarts();
    const { supervisor, shutdown } = supervise(starts);
    (await supervisor.started).die('SIGKILL');
    await vi.advanceTimersByTimeAsync(100);
    shutdown.abort();
    await supervisor.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts.servers).toHaveLength(1);
  });

  it('stops a server that is running when asked', async () => {
    const starts = fakeStarts();
    const { supervisor, shutdown } = supervise(starts);
    const first = await supervisor.started;
    shutdown.abort();
    await supervisor.stop();
    expect(first.stopped).toBe(true);
  });
});
