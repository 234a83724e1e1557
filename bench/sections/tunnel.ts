/**
 * Section 3, the tunnel: the bench handler served by a real bridge process
 * through the gateway (`local/bench`) versus the same handler called in this
 * process. Time to first token (interleaved), deltas per second on one long
 * stream (both batched and paced one delta per event-loop turn), and N
 * concurrent streams checked for loss and crossing.
 */
import type { Agent } from 'node:http';
import { chatRequestSchema, type ChatRequest } from '../../protocol/chat-request.ts';
import { postStream } from '../lib/http-client.ts';
import { interleaved, printTable, summarize, type InterleavedOptions, type Summary } from '../lib/stats.ts';
import { BENCH_MODEL, benchPieces, benchPrompt, createBenchHandler } from '../tunnel/bench-handler.ts';
import { runConcurrentStreams, type ConcurrencyResult } from './concurrency.ts';
import { timeFirstToken, type ChatTarget } from './overhead.ts';

export interface TunnelGateway {
  name: string;
  /** The gateway's chat completions URL. */
  url: string;
  headers: Record<string, string>;
  /** The same gateway's online path (to the upstream), measured alongside for the tunnel's own share. */
  online?: ChatTarget;
}

export interface ThroughputFigure {
  deltas: number;
  /** Median over the repeats. */
  deltasPerSecond: number;
  /** SSE content events the client received (fewer than deltas when the bridge batched them). */
  contentEvents: number;
  ms: number;
}

export interface TunnelResult {
  ttft: Record<string, Summary>;
  throughput: Record<string, { batched: ThroughputFigure; paced: ThroughputFigure }>;
  concurrent: Record<string, ConcurrencyResult>;
}

const LOCAL_MODEL = `local/${BENCH_MODEL}`;
const handler = createBenchHandler();

function chatRequest(content: string): ChatRequest {
  return chatRequestSchema.parse({ model: BENCH_MODEL, messages: [{ role: 'user', content }], stream: true });
}

/** The handler called in-process: time to the first delta and to the end, in ms. */
async function direct(content: string): Promise<{ ttftMs: number; totalMs: number; text: string }> {
  const request = chatRequest(content);
  const started = performance.now();
  let ttftMs = Number.NaN;
  let text = '';
  for await (const event of handler.generate(BENCH_MODEL, request, new AbortController().signal)) {
    if (event.type !== 'text-delta') continue;
    if (text === '') ttftMs = performance.now() - started;
    text += event.text;
  }
  return { ttftMs, totalMs: performance.now() - started, text };
}

async function viaTunnel(gateway: TunnelGateway, content: string, agent: Agent): Promise<{ ttftMs: number; totalMs: number; text: string; contentEvents: number }> {
  const result = await postStream(gateway.url, { model: LOCAL_MODEL, messages: [{ role: 'user', content }], stream: true }, gateway.headers, agent);
  if (result.status !== 200 || !result.done || result.error !== undefined) {
    throw new Error(`${gateway.name}: local stream failed (status ${result.status}): ${result.error?.slice(0, 300) ?? ''}`);
  }
  return result;
}

function checked<T extends { text: string }>(name: string, result: T, expected: string): T {
  if (result.text !== expected) throw new Error(`${name}: wrong content (${result.text.length} chars, expected ${expected.length})`);
  return result;
}

async function throughput(
  name: string,
  run: (content: string) => Promise<{ totalMs: number; text: string; contentEvents?: number }>,
  deltas: number,
  paced: boolean,
  repeats: number,
): Promise<ThroughputFigure> {
  const expected = benchPieces('tp', deltas).join('');
  const figures: Array<{ rate: number; ms: number; events: number }> = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const result = checked(name, await run(benchPrompt('tp', deltas, paced)), expected);
    figures.push({ rate: (deltas / result.totalMs) * 1000, ms: result.totalMs, events: result.contentEvents ?? deltas });
  }
  figures.sort((a, b) => a.rate - b.rate);
  const median = figures[Math.floor(figures.length / 2)] ?? { rate: Number.NaN, ms: Number.NaN, events: 0 };
  return { deltas, deltasPerSecond: median.rate, contentEvents: median.events, ms: median.ms };
}

export interface TunnelOptions extends InterleavedOptions {
  throughputDeltas: number;
  /** For the paced runs (fewer: before the bridge batched paced deltas, each cost a frame, slow under wrangler dev). */
  pacedDeltas: number;
  throughputRepeats: number;
  concurrentStreams: number;
  deltasPerConcurrentStream: number;
}

/** Measures every gateway's tunnel against the in-process handler. */
export async function measureTunnel(gateways: TunnelGateway[], agent: Agent, options: TunnelOptions): Promise<TunnelResult> {
  const prompt = benchPrompt('ttft', 3);
  const expected = benchPieces('ttft', 3).join('');
  const targets = [
    { name: 'handler in-process', run: async () => checked('in-process', await direct(prompt), expected).ttftMs },
    ...gateways.flatMap(({ online, ...gateway }) => [
      { name: gateway.name, run: async () => checked(gateway.name, await viaTunnel(gateway, prompt, agent), expected).ttftMs },
      ...(online ? [{ name: online.name, run: () => timeFirstToken(online, agent) }] : []),
    ]),
  ];
  const samples = await interleaved(targets, options);
  const ttft = Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
  printTable('Tunnel: time to first token (local/bench, sequential, interleaved)', targets.map((target) => ({ name: target.name, summary: ttft[target.name] ?? summarize([]) })));

  const rates: TunnelResult['throughput'] = {};
  const runners = [
    { name: 'handler in-process', run: (content: string) => direct(content) },
    ...gateways.map((gateway) => ({ name: gateway.name, run: (content: string) => viaTunnel(gateway, content, agent) })),
  ];
  console.log(`\nTunnel: deltas per second, one stream of ${options.throughputDeltas} deltas (paced: ${options.pacedDeltas}), median of ${options.throughputRepeats}`);
  for (const runner of runners) {
    const batched = await throughput(runner.name, runner.run, options.throughputDeltas, false, options.throughputRepeats);
    const paced = await throughput(runner.name, runner.run, options.pacedDeltas, true, options.throughputRepeats);
    rates[runner.name] = { batched, paced };
    const describe = (figure: ThroughputFigure): string => `${Math.round(figure.deltasPerSecond).toLocaleString('en-US')}/s (${figure.contentEvents} SSE events, ${figure.ms.toFixed(0)} ms)`;
    console.log(`  ${runner.name.padEnd(28)} as fast as generated: ${describe(batched)}; one per event-loop turn: ${describe(paced)}`);
  }

  const concurrent: TunnelResult['concurrent'] = {};
  for (const gateway of gateways) {
    const streams = Array.from({ length: options.concurrentStreams }, (_, index) => {
      const key = `c${index}`;
      return {
        key,
        body: { model: LOCAL_MODEL, messages: [{ role: 'user', content: benchPrompt(key, options.deltasPerConcurrentStream, true) }], stream: true },
        expectedPieces: benchPieces(key, options.deltasPerConcurrentStream),
      };
    });
    const result = await runConcurrentStreams(gateway.url, gateway.headers, streams, agent);
    concurrent[gateway.name] = result;
    console.log(`  ${gateway.name}: ${result.streams} concurrent streams through the tunnel, ${result.lost} lost, ${result.crossed} crossed, ${result.wallMs.toFixed(0)} ms${result.problems.length ? `; ${result.problems.join('; ')}` : ''}`);
  }
  return { ttft, throughput: rates, concurrent };
}
