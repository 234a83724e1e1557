/**
 * Reliability: clients that leave during load. Online streams (the echo
 * upstream) and local streams (the real bridge) abandoned mid-stream, and
 * Anthropic requests abandoned before the first byte: every upstream call and
 * bridge request must end within the bound, and the gateway must still serve
 * both ways afterwards. Figures: `disconnects`.
 *
 * Why the double: twenty local streams must still be running when their clients leave, so
 * tokens are paced (MLX_DOUBLE_TOKEN_DELAY_MS); the real worker serves one generation at a time
 * and the tiny model's answers end too soon to abandon twenty of them mid-stream.
 */
import { describe, expect, it } from 'vitest';
import { ANTHROPIC_ATTEMPT_TIMEOUT_MS, ask, reliabilitySuite, SETTLE_BOUND_MS, waitForBridgeInFlight } from './reliability-stack.ts';
import { MLX_MODEL } from './stack-bridge.ts';

const ONLINE_DISCONNECTS = 20;
const STALLED_DISCONNECTS = 5;
const TUNNEL_DISCONNECTS = 20;

const suite = reliabilitySuite('disconnects');
const { figures } = suite;

describe('client disconnects during load', () => {
  it('abort the upstream call or the bridge request, mid-stream and before the first token, and leave nothing pending', async () => {
    const bridge = await suite.stack.startBridge('mlx', { env: { BRIDGE_MAX_CONCURRENT: '4', BRIDGE_MAX_QUEUE: '64', MLX_DOUBLE_TOKEN_DELAY_MS: '10' } });
    const cancelledBefore = (bridge.output().match(/cancelled by the client/g) ?? []).length;
    const abortedBefore = suite.echo.aborted();
    suite.stack.mocks.providers.anthropic.reset();
    // Scripted, not the default: the attempts that follow a deadline get a normal answer.
    suite.stack.mocks.providers.anthropic.script(Array.from({ length: STALLED_DISCONNECTS }, () => ({ kind: 'stall' as const })));
    const longText = Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ');
    const abandonMidStream = async (model: string, content: string): Promise<void> => {
      const controller = new AbortController();
      const stream = await suite.stack.client.chat.completions.create({ model, messages: ask(content), stream: true }, { signal: controller.signal });
      let seen = 0;
      try {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) seen += 1;
          if (seen >= 2) controller.abort();
        }
      } catch {
        // The abort surfaces as an error of the iteration: that is the point.
      }
    };
    // Before the first token: the upstream holds the request; the client gives up once it is there.
    const beforeFirstToken = new AbortController();
    const stalled = Array.from({ length: STALLED_DISCONNECTS }, () =>
      suite.stack.client.chat.completions
        .create({ model: 'anthropic/claude-sonnet-4-5', messages: ask('stall'), stream: true }, { signal: beforeFirstToken.signal })
        .catch(() => undefined),
    );
    await suite.stack.mocks.providers.anthropic.waitForCalls({ count: STALLED_DISCONNECTS, timeoutMs: SETTLE_BOUND_MS });
    beforeFirstToken.abort();
    await Promise.all([
      ...stalled,
      ...Array.from({ length: ONLINE_DISCONNECTS }, () => abandonMidStream('xai/grok-4', `${longText} delay:25`)),
      ...Array.from({ length: TUNNEL_DISCONNECTS }, () => abandonMidStream(MLX_MODEL, longText)),
    ]);

    // Mid-stream: each abandoned upstream call and bridge request must end, within the bound.
    const openUpstream = await suite.echo.waitUntilIdle(SETTLE_BOUND_MS);
    const bridgeLeft = await waitForBridgeInFlight(suite.stack, (n) => n === 0, SETTLE_BOUND_MS);
    const cancelledPattern = new RegExp(`(?:[\\s\\S]*?cancelled by the client){${cancelledBefore + TUNNEL_DISCONNECTS}}`);
    await bridge.waitForOutput(cancelledPattern, SETTLE_BOUND_MS).catch(() => undefined);
    // Before the first byte: under wrangler dev the proxy does not pass this on (workers-sdk#9334;
    // pinned in workerd by tests/workers/chat-cancel.test.ts), so count what got through in a second,
    // then the upstream is released by the per-attempt deadline (ANTHROPIC_ATTEMPT_TIMEOUT_MS).
    const abortedSoon = (calls: Array<{ aborted: boolean }>): number => calls.filter((call) => call.aborted).length;
    const forwarded = await suite.stack.mocks.providers.anthropic
      .waitForCalls({ aborted: STALLED_DISCONNECTS, timeoutMs: 1_000 })
      .then(abortedSoon, () => abortedSoon(suite.stack.mocks.providers.anthropic.calls()));
    const released = await suite.stack.mocks.providers.anthropic
      .waitForCalls({ aborted: STALLED_DISCONNECTS, timeoutMs: ANTHROPIC_ATTEMPT_TIMEOUT_MS + SETTLE_BOUND_MS })
      .then(abortedSoon, () => abortedSoon(suite.stack.mocks.providers.anthropic.calls()));

    // -1 means GET /v1/bridge did not report in_flight at all: not "nothing pending".
    expect(bridgeLeft, 'GET /v1/bridge must report in_flight').toBeGreaterThanOrEqual(0);
    figures.disconnects = {
      midStreamOnline: ONLINE_DISCONNECTS,
      midStreamOnlineAborted: suite.echo.aborted() - abortedBefore,
      midStreamTunnel: TUNNEL_DISCONNECTS,
      bridgeCancelled: (bridge.output().match(/cancelled by the client/g) ?? []).length - cancelledBefore,
      beforeFirstToken: STALLED_DISCONNECTS,
      beforeFirstTokenForwarded: forwarded,
      pending: openUpstream + bridgeLeft + (STALLED_DISCONNECTS - released),
    };
    expect(figures.disconnects).toMatchObject({
      pending: 0,
      midStreamOnlineAborted: ONLINE_DISCONNECTS,
      bridgeCancelled: TUNNEL_DISCONNECTS,
    });
    suite.stack.mocks.providers.anthropic.reset();

    // And the gateway still serves both ways.
    const online = await suite.stack.client.chat.completions.create({ model: 'xai/grok-4', messages: ask('still here') });
    expect(online.choices[0]?.message.content).toBe('still here');
    const local = await suite.stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask('still here') });
    expect(local.choices[0]?.message.content).toBe('still here');
    await bridge.stop('SIGTERM');
  });
});
