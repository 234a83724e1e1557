/**
 * `node bench/local-engine/run-section.ts [--quick]`: the local-engine section
 * alone (bench/sections/local-engine.ts), against a gateway of its own served
 * by Miniflare: for working on the local path without the whole `npm run bench`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../lib/http-client.ts';
import { stopAll, stopEverythingOnSignals } from '../lib/processes.ts';
import { readCompatibility, startMiniflare } from '../lib/servers.ts';
import { buildWorker } from '../sections/bundle.ts';
import { measureLocalEngine } from '../sections/local-engine.ts';

const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-bench-local-'));
const cleanup = async (): Promise<void> => {
  await stopAll();
  rmSync(scratch, { recursive: true, force: true });
};
stopEverythingOnSignals(cleanup);
try {
  const gatewayKey = `gk-bench-${randomUUID()}`;
  const bridgeToken = `bt-bench-${randomUUID()}`;
  const build = await buildWorker('wrangler.toml', join(scratch, 'gateway'));
  const gateway = await startMiniflare({
    name: 'agent-gateway',
    bundle: build.bundle,
    ...readCompatibility('wrangler.toml'),
    vars: { GATEWAY_API_KEY: gatewayKey, BRIDGE_TOKEN: bridgeToken },
    durableObjects: { BRIDGE_TUNNEL: 'BridgeTunnel' },
  });
  const agent = createAgent();
  const quick = process.argv.includes('--quick');
  await measureLocalEngine({ rounds: quick ? 5 : 30, warmup: 2, gateway: { url: gateway.url, gatewayKey, bridgeToken }, agent });
  agent.destroy();
} finally {
  await cleanup();
}
