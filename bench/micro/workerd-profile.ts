/**
 * `node bench/micro/workerd-profile.ts [chunks] [requests] [out.cpuprofile] [--tunnel]`:
 * a CPU profile of the gateway inside workerd, taken through workerd's
 * inspector while it streams `requests` completions of `chunks` chunks from the
 * bench upstream (with `--tunnel`: `local/bench` through a bench bridge, one
 * frame per delta). The gateway is bundled and served as `npm start` serves it.
 * Prints the functions with the most self time; open the file in Chrome
 * DevTools (Performance) or VS Code for the rest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { serveDirectly } from '../../scripts/miniflare-worker.ts';
import { findFreePort } from '../../scripts/sqld.ts';
import { createAgent, postStream } from '../lib/http-client.ts';
import { stopAll } from '../lib/processes.ts';
import { readCompatibility, startBenchBridge } from '../lib/servers.ts';
import { buildWorker } from '../sections/bundle.ts';
import { startUpstream, upstreamPieces } from '../upstream/openai-upstream.ts';

const tunnel = process.argv.includes('--tunnel');
const [chunksArg, requestsArg, outArg] = process.argv.slice(2).filter((arg) => arg !== '--tunnel');
const chunks = Number(chunksArg ?? 2_000);
const requests = Number(requestsArg ?? 10);
const out = outArg ?? join(process.cwd(), 'workerd.cpuprofile');
const BRIDGE_TOKEN = 'bt-profile';
const MODEL = 'bench-model';
const KEY = 'gk-profile';

const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-profile-'));
const upstream = await startUpstream();
const built = await buildWorker('wrangler.toml', join(scratch, 'gateway'));
const inspectorPort = await findFreePort();
const { url, miniflare } = await serveDirectly(
  {
    name: 'agent-gateway',
    bundle: built.bundle,
    ...readCompatibility('wrangler.toml'),
    vars: { GATEWAY_API_KEY: KEY, BRIDGE_TOKEN, OPENAI_API_KEY: 'sk-profile', AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: `${upstream.url}/v1`, models: [MODEL] } }) },
    durableObjects: { BRIDGE_TUNNEL: 'BridgeTunnel' },
  },
  { port: 0, inspectorPort },
);

/** A minimal Chrome DevTools protocol client over the inspector's WebSocket. */
async function inspector(target: string): Promise<{ send(method: string, params?: object): Promise<Record<string, unknown>>; close(): void }> {
  const socket = new WebSocket(target);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result ?? {});
  });
  return {
    send(method, params = {}) {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve) => waiting.set(id, resolve));
    },
    close: () => socket.close(),
  };
}

const agent = createAgent();
if (tunnel) await startBenchBridge(url, BRIDGE_TOKEN);
const prompt = tunnel ? `stream:f deltas:${chunks} spaced:6` : `echo:k chunks:${chunks}`;
const expected = tunnel ? Array.from({ length: chunks }, (_, index) => `f.${index} `).join('') : upstreamPieces(prompt).join('');
const stream = async (): Promise<void> => {
  const result = await postStream(`${url}/v1/chat/completions`, { model: tunnel ? 'local/bench' : `openai/${MODEL}`, messages: [{ role: 'user', content: prompt }], stream: true }, { authorization: `Bearer ${KEY}` }, agent);
  if (result.text !== expected || !result.done) throw new Error(`wrong stream: ${result.status} ${result.error ?? ''}`);
};
try {
  for (let index = 0; index < 3; index++) await stream();
  const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ id: string; webSocketDebuggerUrl: string }>;
  console.log(list.map((entry) => entry.id).join(', '));
  const worker = list.find((entry) => entry.id.includes('agent-gateway')) ?? list[0];
  if (!worker) throw new Error('workerd offers no inspector target');
  const devtools = await inspector(worker.webSocketDebuggerUrl);
  await devtools.send('Profiler.enable');
  await devtools.send('Profiler.setSamplingInterval', { interval: 100 });
  await devtools.send('Profiler.start');
  for (let index = 0; index < requests; index++) await stream();
  const { profile } = (await devtools.send('Profiler.stop')) as { profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] } };
  devtools.close();
  writeFileSync(out, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((sample, index) => {
    const frame = byId.get(sample)?.callFrame;
    const delta = profile.timeDeltas[index] ?? 0;
    total += delta;
    const key = frame ? `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}:${frame.lineNumber + 1}` : '?';
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  console.log(`profile of ${requests} streams × ${chunks} chunks: ${(total / 1000).toFixed(0)} ms sampled, ${(total / (requests * chunks)).toFixed(1)} µs per chunk; written to ${out}`);
  for (const [key, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
} finally {
  agent.destroy();
  await stopAll();
  await miniflare.dispose();
  upstream.server.close();
  rmSync(scratch, { recursive: true, force: true });
}
