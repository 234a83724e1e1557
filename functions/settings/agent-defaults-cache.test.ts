import { beforeEach, describe, expect, it } from 'vitest';
import { invalidateAgentDefaults, loadAndCache, readCachedDefaults, type AgentDefaults } from './agent-defaults-cache.ts';

/** A load the test settles by hand. */
function manualLoad(): { load: () => Promise<AgentDefaults | undefined>; calls: number; settle: (value: AgentDefaults) => void } {
  const waiting: Array<(value: AgentDefaults) => void> = [];
  const handle = {
    calls: 0,
    load: () => {
      handle.calls += 1;
      return new Promise<AgentDefaults | undefined>((resolve) => waiting.push(resolve));
    },
    settle: (value: AgentDefaults) => waiting.shift()?.(value),
  };
  return handle;
}

const now = (): number => 1_000;
const fiveSeconds = (): number => 5_000;

beforeEach(() => {
  invalidateAgentDefaults();
});

describe('the agent defaults cache', () => {
  it('lets concurrent misses each read, so no request waits on a promise another request made', async () => {
    const first = manualLoad();
    const second = manualLoad();
    const slow = loadAndCache('user', first.load, fiveSeconds, now);
    const fast = loadAndCache('user', second.load, fiveSeconds, now);
    expect([first.calls, second.calls]).toEqual([1, 1]);
    second.settle({ preferred_transport: 'local' });
    // The second request is answered although the first read is still pending.
    expect(await fast).toEqual({ preferred_transport: 'local' });
    first.settle({ preferred_transport: 'online' });
    expect(await slow).toEqual({ preferred_transport: 'online' });
  });

  it('caches the settled value until it expires', async () => {
    const read = manualLoad();
    const pending = loadAndCache('user', read.load, fiveSeconds, now);
    expect(readCachedDefaults('user', 1_000)).toBeUndefined(); // nothing pending is ever cached
    read.settle({ default_online_model: 'openai/gpt-4o' });
    await pending;
    expect(readCachedDefaults('user', 5_999)?.value).toEqual({ default_online_model: 'openai/gpt-4o' });
    expect(readCachedDefaults('user', 6_000)).toBeUndefined();
  });

  it('does not store what a read saw before a settings write that happened meanwhile', async () => {
    const read = manualLoad();
    const pending = loadAndCache('user', read.load, fiveSeconds, now);
    invalidateAgentDefaults();
    read.settle({ preferred_transport: 'local' });
    await pending;
    expect(readCachedDefaults('user', 1_000)).toBeUndefined();
  });
});
