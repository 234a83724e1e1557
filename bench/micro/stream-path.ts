/**
 * `node bench/micro/stream-path.ts [chunks] [rounds]`: the CPU a streamed chunk
 * costs our code, in this process: the real app (`functions/app.ts`) answers
 * streaming and non-streaming completions of `chunks` chunks (default 2000)
 * from the bench's loopback upstream (bench/upstream/openai-upstream.ts, here
 * in-process), through the real fetch. Prints µs of CPU (user + system, from
 * `process.cpuUsage`, the upstream's share included) per chunk. Run with
 * `--cpu-prof` to see where the time goes; `npm run bench` measures the same in
 * workerd.
 */
import { createApp } from '../../functions/app.ts';
import { CircuitBreaker } from '../../functions/agents/circuit-breaker.ts';
import type { Env } from '../../functions/config.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { startUpstream } from '../upstream/openai-upstream.ts';

const chunks = Number(process.argv[2] ?? 2_000);
const rounds = Number(process.argv[3] ?? 20);
const MODEL = 'bench-model';

const upstream = await startUpstream();
const env = {
  GATEWAY_API_KEY: 'gk-micro-bench-key',
  OPENAI_API_KEY: 'sk-micro-openai',
  AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: `${upstream.url}/v1`, models: [MODEL] } }),
} as unknown as Env;
const app = createApp({ deps: defaultRuntimeDeps, breaker: new CircuitBreaker(), log: () => undefined });

function chatRequest(stream: boolean): Request {
  const body = JSON.stringify({ model: `openai/${MODEL}`, messages: [{ role: 'user', content: `echo:k chunks:${chunks}` }], stream });
  return new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env.GATEWAY_API_KEY}` },
    body,
  });
}

async function exchange(stream: boolean): Promise<void> {
  const response = await app.fetch(chatRequest(stream), env);
  const text = await response.text();
  if (response.status !== 200 || !text.includes(`k.${chunks - 1} `)) throw new Error(`unexpected answer ${response.status}: ${text.slice(0, 300)}`);
}

for (const stream of [true, false]) {
  for (let index = 0; index < 3; index++) await exchange(stream);
  const before = process.cpuUsage();
  for (let index = 0; index < rounds; index++) await exchange(stream);
  const used = process.cpuUsage(before);
  const micros = (used.user + used.system) / (rounds * chunks);
  console.log(`${stream ? 'streaming    ' : 'non-streaming'}: ${micros.toFixed(2)} µs CPU per chunk (N=${chunks}, ${rounds} rounds, upstream in-process)`);
}
upstream.server.close();
