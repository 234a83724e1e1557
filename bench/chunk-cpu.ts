/**
 * `node bench/chunk-cpu.ts [rounds]`: section 7 of `npm run bench` alone, for
 * working on the stream path: the gateway as `npm start` serves it (bundled,
 * Miniflare alone) and the pass-through Worker, against the bench upstream;
 * µs of CPU per chunk at N = 2000 and 200. Builds from the checkout as it is,
 * or from `--root DIR`, another checkout's sources (to measure before/after).
 */
import { join } from 'node:path';
import { createAgent } from './lib/http-client.ts';
import { scratchRun } from './lib/processes.ts';
import { readCompatibility, startBenchBridge, startMiniflare, startUpstreamProcess } from './lib/servers.ts';
import { buildWorker } from './sections/bundle.ts';
import { measureChunkCpu, measureFrameCpu, measureSpacedChunkCpu } from './sections/chunk-cpu.ts';

const rootAt = process.argv.indexOf('--root');
const root = rootAt === -1 ? undefined : process.argv[rootAt + 1];
const rounds = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 10);
const MODEL = 'bench-model';
const { scratch, cleanup } = scratchRun('agent-gateway-chunk-cpu-');
try {
  const [gatewayBuild, passthroughBuild, upstream] = await Promise.all([
    buildWorker('wrangler.toml', join(scratch, 'gateway'), { root }),
    buildWorker('bench/passthrough/wrangler.toml', join(scratch, 'passthrough')),
    startUpstreamProcess(),
  ]);
  const gatewayKey = 'gk-chunk-cpu';
  const [gateway, passthrough] = await Promise.all([
    startMiniflare({
      name: 'agent-gateway',
      bundle: gatewayBuild.bundle,
      ...readCompatibility('wrangler.toml'),
      vars: {
        GATEWAY_API_KEY: gatewayKey,
        BRIDGE_TOKEN: 'bt-chunk-cpu',
        OPENAI_API_KEY: 'sk-bench-openai',
        ANTHROPIC_API_KEY: 'sk-ant-bench',
        AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: `${upstream.url}/v1`, models: [MODEL] }, anthropic: { base_url: upstream.url, models: [MODEL] } }),
      },
      durableObjects: { BRIDGE_TUNNEL: 'BridgeTunnel' },
    }),
    startMiniflare({ name: 'bench-passthrough', bundle: passthroughBuild.bundle, ...readCompatibility('bench/passthrough/wrangler.toml'), vars: { UPSTREAM_URL: `${upstream.url}/v1` } }),
  ]);
  const agent = createAgent();
  await measureChunkCpu(
    [
      { name: 'gateway (npm start)', url: `${gateway.url}/v1/chat/completions`, headers: { authorization: `Bearer ${gatewayKey}` }, model: `openai/${MODEL}`, pgid: gateway.process.child.pid ?? 0 },
      { name: 'gateway, Anthropic upstream', url: `${gateway.url}/v1/chat/completions`, headers: { authorization: `Bearer ${gatewayKey}` }, model: `anthropic/${MODEL}`, pgid: gateway.process.child.pid ?? 0 },
      { name: 'pass-through Worker', url: `${passthrough.url}/v1/chat/completions`, headers: {}, model: MODEL, pgid: passthrough.process.child.pid ?? 0 },
    ],
    agent,
    { sizes: [2000, 200], rounds: (size) => Math.ceil((rounds * 2000) / size) },
  );
  await measureSpacedChunkCpu(
    [
      { name: 'gateway (npm start)', url: `${gateway.url}/v1/chat/completions`, headers: { authorization: `Bearer ${gatewayKey}` }, model: `openai/${MODEL}`, pgid: gateway.process.child.pid ?? 0 },
      { name: 'pass-through Worker', url: `${passthrough.url}/v1/chat/completions`, headers: {}, model: MODEL, pgid: passthrough.process.child.pid ?? 0 },
    ],
    agent,
    { chunks: 200, spacedMs: 6, requests: rounds },
  );
  await startBenchBridge(gateway.url, 'bt-chunk-cpu');
  await measureFrameCpu(
    { name: 'gateway (npm start), local/bench', url: `${gateway.url}/v1/chat/completions`, headers: { authorization: `Bearer ${gatewayKey}` }, model: 'local/bench', pgid: gateway.process.child.pid ?? 0 },
    agent,
    { deltas: 200, spacedMs: 6, requests: rounds },
  );
  agent.destroy();
} finally {
  await cleanup();
}
process.exit(0);
