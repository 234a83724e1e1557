/**
 * Reliability: a bridge that is connected but says nothing, and connections
 * that carry the bridge token but never become a bridge. With real processes
 * (sqld, the Worker under wrangler dev, the real bridge CLI over the `mlx_lm`
 * double):
 * - the real bridge SIGSTOPped: a new request gets its 503 `bridge_unresponsive`
 *   within the ack bound (the first) or at once (the rest); after SIGCONT it is
 *   served again;
 * - a bridge that says a valid hello and then nothing: the same fast errors;
 * - a stray upgrade with the right token, closing before hello or staying open
 *   silent, takes nothing down; a real second bridge with a valid hello does take
 *   over, and the one it replaced exits 3 saying why.
 * Figures: `stuckBridge` (requests sent to a stuck bridge, the slowest first byte of their errors).
 *
 * Why the double: each request's answer is its own label (the double echoes it), which is how
 * the test tells which bridge served; the faults (SIGSTOP, silent sockets) are the bridge's, not
 * the engine's.
 */
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { ACK_TIMEOUT_MS, encodeTunnelFrame, parseTunnelFrame, TUNNEL_SUBPROTOCOL } from '../../protocol/tunnel-frames.ts';
import { ask, reliabilitySuite } from './reliability-stack.ts';
import { openAIErrorOf } from './stack-answers.ts';
import { MLX_MODEL, type BridgeProcess } from './stack-bridge.ts';

const suite = reliabilitySuite('stuck-bridge');
const { figures } = suite;
/** The old behaviour was no header for 120 s; an error's first byte must come well inside this. */
const FIRST_BYTE_BOUND_MS = 10_000;
/** How long a bridge that resumed may take to be served again (its next frame or ping). */
const RECOVERY_BOUND_MS = 30_000;
const SUPERSEDED_EXIT_CODE = 3;

const firstBytes: number[] = [];

/** One non-streaming request for `model`: its status, error code and the time to its first byte (the response head). */
async function timedRequest(model: string, content: string): Promise<{ status: number; code: string | null | undefined; retryAfter: string | null; firstByteMs: number; text: string }> {
  const startedAt = performance.now();
  const response = await suite.stack.api('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: ask(content) }),
  });
  const firstByteMs = Math.round(performance.now() - startedAt);
  const body: unknown = await response.json();
  const completion = body as { choices?: Array<{ message?: { content?: string } }> };
  return {
    status: response.status,
    code: openAIErrorOf(body)?.code,
    retryAfter: response.headers.get('retry-after'),
    firstByteMs,
    text: completion.choices?.[0]?.message?.content ?? '',
  };
}

/** Sends `count` requests one after another to a stuck bridge; each must be a fast 503 bridge_unresponsive. */
async function expectFastErrors(count: number, label: string): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const outcome = await timedRequest(MLX_MODEL, `${label} ${index}`);
    firstBytes.push(outcome.firstByteMs);
    expect(outcome, `${label} request ${index}`).toMatchObject({ status: 503, code: 'bridge_unresponsive' });
    expect(Number(outcome.retryAfter)).toBeGreaterThanOrEqual(1);
    // Only the first waits out the ack bound; the bridge is known to be silent after that.
    if (index > 0) expect(outcome.firstByteMs, `${label} request ${index} after the first`).toBeLessThan(ACK_TIMEOUT_MS);
  }
}

/** Asks until the bridge serves again (it is routed to once it speaks), within the bound. */
async function expectServedAgain(label: string): Promise<void> {
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  for (;;) {
    const outcome = await timedRequest(MLX_MODEL, label);
    if (outcome.status === 200) {
      expect(outcome.text).toBe(label);
      return;
    }
    expect(outcome.code, 'only bridge_unresponsive while the bridge wakes up').toBe('bridge_unresponsive');
    if (Date.now() > deadline) throw new Error(`not served within ${RECOVERY_BOUND_MS} ms of the bridge resuming`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A connection to /bridge/connect with the bridge token, driven by the test: it speaks only when told to. */
async function rawBridgeConnection(): Promise<{ socket: WebSocket; closed: Promise<number>; hello(): Promise<void> }> {
  const url = `${suite.stack.url.replace(/^http/, 'ws')}/bridge/connect`;
  const socket = new WebSocket(url, [TUNNEL_SUBPROTOCOL], { headers: { authorization: `Bearer ${suite.secrets.BRIDGE_TOKEN}` } });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    closed,
    hello: () =>
      new Promise<void>((resolve) => {
        socket.on('message', (data: Buffer) => {
          const parsed = parseTunnelFrame(data.toString('utf8'));
          if (parsed.ok && parsed.frame.t === 'welcome') resolve();
        });
        socket.send(
          encodeTunnelFrame({
            t: 'hello',
            bridgeId: 'silent-bridge',
            version: 'test',
            protocols: [1],
            runners: ['mlx'],
            models: [{ id: MLX_MODEL.slice('local/'.length), state: 'loaded', runner: 'mlx' }],
            capacity: { maxConcurrent: 2, maxQueue: 16 },
          }),
        );
      }),
  };
}

describe('the real bridge frozen with SIGSTOP', () => {
  it('answers new requests with a fast 503 bridge_unresponsive while it is stopped, and serves again after SIGCONT', { timeout: 120_000 }, async () => {
    const bridge = await suite.stack.startBridge('mlx');
    try {
      expect((await timedRequest(MLX_MODEL, 'before the freeze')).status).toBe(200);
      bridge.child.kill('SIGSTOP');
      try {
        await expectFastErrors(3, 'frozen');
      } finally {
        bridge.child.kill('SIGCONT');
      }
      await expectServedAgain('after the thaw');
    } finally {
      await bridge.stop('SIGTERM');
    }
  });
});

describe('connections that never become a bridge', () => {
  it('leave the live bridge serving, while a real second bridge takes over and the first exits 3 saying why', { timeout: 120_000 }, async () => {
    const first: BridgeProcess = await suite.stack.startBridge('mlx');
    let second: BridgeProcess | undefined;
    let third: BridgeProcess | undefined;
    try {
      const quitter = await rawBridgeConnection();
      quitter.socket.close(1000, 'never mind');
      await quitter.closed;
      expect((await timedRequest(MLX_MODEL, 'after a quitter')).text).toBe('after a quitter');

      const silent = await rawBridgeConnection();
      expect((await timedRequest(MLX_MODEL, 'beside a silent one')).text).toBe('beside a silent one');
      // Closed by the gateway once its handshake time is over, and it took nothing with it.
      expect(await silent.closed).toBe(4003);
      expect((await timedRequest(MLX_MODEL, 'after the silent one')).text).toBe('after the silent one');
      expect(first.child.exitCode).toBeNull();

      // The second runs as install-service's LaunchAgent would: launchd restarts any non-zero exit.
      second = await suite.stack.startBridge('mlx', { env: { BRIDGE_SUPERVISOR: 'launchd' } });
      expect(await first.exited).toBe(SUPERSEDED_EXIT_CODE);
      expect(first.output()).toMatch(/bridge exiting: superseded \(close 4001\): another bridge connected to the gateway with the same token/);
      expect((await timedRequest(MLX_MODEL, 'from the second')).text).toBe('from the second');

      third = await suite.stack.startBridge('mlx');
      expect(await second.exited).toBe(0);
      expect(second.output()).toMatch(/bridge exiting: superseded/);
      expect((await timedRequest(MLX_MODEL, 'from the third')).text).toBe('from the third');
    } finally {
      await third?.stop('SIGTERM');
      await second?.stop('SIGTERM');
      await first.stop('SIGTERM');
    }
  });
});

describe('a bridge that says hello and then nothing', () => {
  it('answers every request with a fast 503 bridge_unresponsive', { timeout: 60_000 }, async () => {
    const silent = await rawBridgeConnection();
    await silent.hello();
    try {
      await expectFastErrors(3, 'silent');
      const status = (await (await suite.stack.api('/v1/bridge')).json()) as { connected: boolean; bridge_id: string; unresponsive_since: string | null };
      expect(status).toMatchObject({ connected: true, bridge_id: 'silent-bridge' });
      expect(status.unresponsive_since).not.toBeNull();
    } finally {
      silent.socket.close();
      await silent.closed;
    }

    const slowestFirstByteMs = Math.max(...firstBytes);
    figures.stuckBridge = { requests: firstBytes.length, slowestFirstByteMs };
    expect(slowestFirstByteMs).toBeLessThanOrEqual(FIRST_BYTE_BOUND_MS);
  });
});
