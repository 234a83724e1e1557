/**
 * `node bench/micro/request-path.ts [rounds]`: our Worker code's own CPU time
 * per chat completion, in this process, with no network and no runtime around
 * it. The real app (`functions/app.ts`, every middleware and the OpenAI
 * adapter) answers requests whose upstream is a canned in-memory response, next
 * to a pass-through handler that only forwards to the same canned upstream.
 * The difference is what the gateway's own JavaScript costs per request, the
 * part of "our code's share" in `npm run bench` that code changes can move.
 * Run with `--cpu-prof` to see where it goes.
 */
import { createApp } from '../../functions/app.ts';
import { CircuitBreaker } from '../../functions/agents/circuit-breaker.ts';
import type { Env } from '../../functions/config.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';

const rounds = Number(process.argv[2] ?? 5_000);
const MODEL = 'bench-model';
const CREATED = 1_764_000_000;
const PIECES = ['Hello ', 'from the bench ', 'upstream.'];

function upstreamSse(): string {
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  return `${PIECES.map((piece, index) => chunk(index === 0 ? { role: 'assistant', content: piece } : { content: piece }, null)).join('')}${chunk({}, 'stop')}data: [DONE]\n\n`;
}
const SSE = upstreamSse();
const JSON_ANSWER = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: CREATED,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: PIECES.join('') }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
});

/** The upstream, answering at once from memory as the bench's node:http upstream does over loopback. */
const upstreamFetch = async (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const body = typeof init?.body === 'string' ? init.body : '';
  return body.includes('"stream":true')
    ? new Response(SSE, { headers: { 'content-type': 'text/event-stream' } })
    : new Response(JSON_ANSWER, { headers: { 'content-type': 'application/json' } });
};

const env = {
  GATEWAY_API_KEY: 'gk-micro-bench-key',
  OPENAI_API_KEY: 'sk-micro-openai',
  AGENT_ONLINE_ENDPOINTS: JSON.stringify({ openai: { base_url: 'http://upstream.test/v1', models: [MODEL] } }),
} as unknown as Env;
const app = createApp({ deps: { ...defaultRuntimeDeps, fetch: upstreamFetch }, breaker: new CircuitBreaker(), log: () => undefined });

/** The bench's pass-through Worker, minus the network. */
async function passThrough(request: Request): Promise<Response> {
  const upstream = await upstreamFetch('http://upstream.test/v1/chat/completions', { method: 'POST', body: await request.text() });
  return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
}

function chatRequest(stream: boolean, authorized: boolean): Request {
  const body = JSON.stringify({ model: stream || authorized ? `openai/${MODEL}` : MODEL, messages: [{ role: 'user', content: 'Say hello.' }], stream });
  return new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorized ? { authorization: `Bearer ${env.GATEWAY_API_KEY}` } : {}) },
    body,
  });
}

/** Sends a request and reads the whole answer; checks that it is a success. */
async function exchange(handler: (request: Request) => Promise<Response>, stream: boolean, authorized: boolean): Promise<void> {
  const response = await handler(chatRequest(stream, authorized));
  const text = await response.text();
  if (response.status !== 200 || !text.includes('from the bench')) throw new Error(`unexpected answer ${response.status}: ${text.slice(0, 200)}`);
}

async function perRequestMicros(handler: (request: Request) => Promise<Response>, stream: boolean, authorized: boolean): Promise<number> {
  for (let index = 0; index < Math.min(500, rounds); index++) await exchange(handler, stream, authorized);
  const started = performance.now();
  for (let index = 0; index < rounds; index++) await exchange(handler, stream, authorized);
  return ((performance.now() - started) / rounds) * 1000;
}

const gateway = (request: Request): Promise<Response> => Promise.resolve(app.fetch(request, env));
for (const stream of [false, true]) {
  const floor = await perRequestMicros(passThrough, stream, false);
  const ours = await perRequestMicros(gateway, stream, true);
  console.log(`${stream ? 'streaming    ' : 'non-streaming'}: gateway ${ours.toFixed(1)} µs, pass-through ${floor.toFixed(1)} µs per request: our code ${(ours - floor).toFixed(1)} µs`);
}
