/**
 * Section 6, the bridge's idle memory: RSS of a bridge process (and any child
 * it started) that is connected to the gateway and serving nothing.
 * - the bench bridge (the real BridgeClient and the bench handler), measured
 *   right after it connected, before any load;
 * - the real daemon (`npm run bridge -- --url … --token …`, its runners
 *   registered, no model loaded), with its config, state and Hugging Face
 *   cache directories pointed at an empty scratch directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { rssBytes, spawnGroup } from '../lib/processes.ts';

const SETTLE_MS = 2_000;
const CONNECT_TIMEOUT_MS = 20_000;

export interface IdleMemory {
  rssBytes: number;
  /** Three samples, SETTLE_MS / 2 apart, after connecting; the figure is the last. */
  samples: number[];
}

/** RSS of `pid` after it has sat idle for a moment. */
export async function idleRss(pid: number): Promise<IdleMemory> {
  const samples: number[] = [];
  for (let sample = 0; sample < 3; sample++) {
    await new Promise((done) => setTimeout(done, SETTLE_MS / 2));
    samples.push(rssBytes(pid));
  }
  return { rssBytes: samples.at(-1) ?? Number.NaN, samples };
}

const bridgeStatusSchema = z.object({ connected: z.boolean(), bridge_id: z.string().nullish() });

/** Starts the real bridge daemon against `gatewayUrl`, waits until the gateway sees it, measures, stops it. */
export async function measureRealDaemon(gatewayUrl: string, bridgeToken: string, gatewayKey: string, entry = 'scripts/bridge.mjs'): Promise<IdleMemory & { bridgeId: string }> {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-bench-bridge-'));
  // `entry`: what `npm run bridge` runs (the bundle when fresh), or `bridge/cli.ts` for the sources.
  const daemon = spawnGroup('bridge daemon', process.execPath, [entry, '--url', gatewayUrl, '--token', bridgeToken], {
    env: {
      HOME: scratch,
      XDG_CONFIG_HOME: join(scratch, 'config'),
      XDG_STATE_HOME: join(scratch, 'state'),
      HF_HOME: join(scratch, 'hf'),
    },
    afterStop: () => rmSync(scratch, { recursive: true, force: true }),
  });
  try {
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      if (daemon.child.exitCode !== null) throw new Error(`the bridge daemon exited (${daemon.child.exitCode}):\n${daemon.output().slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`the bridge daemon did not connect within ${CONNECT_TIMEOUT_MS / 1000} s:\n${daemon.output().slice(-2000)}`);
      const response = await fetch(`${gatewayUrl}/v1/bridge`, { headers: { authorization: `Bearer ${gatewayKey}` } });
      const status = bridgeStatusSchema.safeParse(await response.json());
      const bridgeId = status.success ? status.data.bridge_id : undefined;
      // The daemon supersedes the bench bridge: wait until the gateway names the daemon.
      if (status.success && status.data.connected && bridgeId && !bridgeId.startsWith('bench-bridge-')) {
        const memory = await idleRss(daemon.child.pid ?? 0);
        return { ...memory, bridgeId };
      }
      await new Promise((done) => setTimeout(done, 200));
    }
  } finally {
    await daemon.stop();
  }
}
