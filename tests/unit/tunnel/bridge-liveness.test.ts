import { describe, expect, it } from 'vitest';
import { bridgeLiveness, HEARTBEAT_GONE_MS, type LivenessInput } from '../../../functions/tunnel/bridge-liveness.ts';
import { HEARTBEAT_MISSED_MS, HEARTBEAT_SEC } from '../../../protocol/tunnel-frames.ts';

const connectedAt = 1_000_000;
const fresh: LivenessInput = { connectedAt, lastPingAt: undefined, lastFrameAt: 0, unresponsiveSince: undefined };

describe('whether the tunnel object still routes to a bridge', () => {
  it('routes to a bridge that connected or spoke within a heartbeat', () => {
    expect(bridgeLiveness(fresh, connectedAt + 1_000)).toEqual({ state: 'alive' });
    expect(bridgeLiveness({ ...fresh, lastPingAt: connectedAt + 50_000 }, connectedAt + 60_000)).toEqual({ state: 'alive' });
  });

  it('stops routing to a bridge that missed its heartbeat, before the link is given up for dead', () => {
    expect(HEARTBEAT_MISSED_MS).toBeGreaterThan(HEARTBEAT_SEC * 1000);
    expect(HEARTBEAT_MISSED_MS).toBeLessThan(HEARTBEAT_GONE_MS);
    const liveness = bridgeLiveness(fresh, connectedAt + HEARTBEAT_MISSED_MS + 1);
    expect(liveness).toMatchObject({ state: 'unresponsive', since: connectedAt });
    expect(bridgeLiveness(fresh, connectedAt + HEARTBEAT_GONE_MS + 1)).toEqual({ state: 'gone' });
  });

  it('stops routing to a bridge that left a request unacknowledged until it speaks again, a ping included', () => {
    const marked: LivenessInput = { ...fresh, lastFrameAt: connectedAt + 10_000, unresponsiveSince: connectedAt + 13_000 };
    expect(bridgeLiveness(marked, connectedAt + 14_000)).toMatchObject({ state: 'unresponsive', since: connectedAt + 13_000 });
    // A frame, or a ping the runtime answered without waking the object, after the mark.
    expect(bridgeLiveness({ ...marked, lastFrameAt: connectedAt + 13_500 }, connectedAt + 14_000)).toEqual({ state: 'alive' });
    expect(bridgeLiveness({ ...marked, lastPingAt: connectedAt + 13_500 }, connectedAt + 14_000)).toEqual({ state: 'alive' });
  });
});
