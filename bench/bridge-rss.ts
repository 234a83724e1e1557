/**
 * `node bench/bridge-rss.ts`: the real bridge daemon's idle RSS (connected to
 * a gateway, no model loaded), run as `npm run bridge` runs it (the bundle)
 * and from its sources (`node bridge/cli.ts`), three times each, alternating.
 */
import { join } from 'node:path';
import { scratchRun } from './lib/processes.ts';
import { readCompatibility, startMiniflare } from './lib/servers.ts';
import { measureRealDaemon } from './sections/bridge-memory.ts';
import { buildWorker } from './sections/bundle.ts';

const { scratch, cleanup } = scratchRun('agent-gateway-bridge-rss-');
try {
  const built = await buildWorker('wrangler.toml', join(scratch, 'gateway'));
  const [key, token] = ['gk-bridge-rss', 'bt-bridge-rss'];
  const gateway = await startMiniflare({ name: 'agent-gateway', bundle: built.bundle, ...readCompatibility('wrangler.toml'), vars: { GATEWAY_API_KEY: key, BRIDGE_TOKEN: token }, durableObjects: { BRIDGE_TUNNEL: 'BridgeTunnel' } });
  const figures: Record<string, number[]> = { 'npm run bridge (scripts/bridge.mjs)': [], 'node bridge/cli.ts': [] };
  for (let round = 0; round < 3; round++) {
    for (const [name, entry] of [['npm run bridge (scripts/bridge.mjs)', 'scripts/bridge.mjs'], ['node bridge/cli.ts', 'bridge/cli.ts']] as const) {
      figures[name]!.push((await measureRealDaemon(gateway.url, token, key, entry)).rssBytes / 2 ** 20);
    }
  }
  for (const [name, values] of Object.entries(figures)) console.log(`${name.padEnd(38)} idle RSS ${values.map((value) => value.toFixed(1)).join(', ')} MiB`);
} finally {
  await cleanup();
}
process.exit(0);
