/**
 * Section 1, gateway overhead: the same chat request to every target (a direct
 * call to the upstream, pass-through Workers, our gateway, Portkey),
 * interleaved, sequential; non-streaming latency and streaming time to first
 * token. Each response is checked, so a target that answers wrongly fails the
 * section instead of producing a fast, meaningless figure.
 */
import type { Agent } from 'node:http';
import { postJson, postStream } from '../lib/http-client.ts';
import { interleaved, printTable, summarize, type InterleavedOptions, type Summary } from '../lib/stats.ts';

export interface ChatTarget {
  name: string;
  /** The full chat completions URL. */
  url: string;
  headers: Record<string, string>;
  /** The model name this target expects (`bench-model`, `openai/bench-model`). */
  model: string;
}

export interface OverheadResult {
  nonStreaming: Record<string, Summary>;
  ttft: Record<string, Summary>;
}

const EXPECTED_TEXT = 'Hello from the bench upstream.';
const MESSAGES = [{ role: 'user', content: 'Say hello.' }];

function failWith(target: ChatTarget, what: string): never {
  throw new Error(`${target.name} answered wrongly (${what})`);
}

/** One non-streaming request; returns its latency in ms after checking the answer. */
export async function timeNonStreaming(target: ChatTarget, agent: Agent): Promise<number> {
  const result = await postJson(target.url, { model: target.model, messages: MESSAGES }, target.headers, agent);
  if (result.status !== 200) failWith(target, `status ${result.status}: ${result.body.slice(0, 300)}`);
  if (!result.body.includes(EXPECTED_TEXT)) failWith(target, `body ${result.body.slice(0, 300)}`);
  return result.ms;
}

/** One streaming request; returns its time to first token in ms after checking the whole stream. */
export async function timeFirstToken(target: ChatTarget, agent: Agent): Promise<number> {
  const result = await postStream(target.url, { model: target.model, messages: MESSAGES, stream: true }, target.headers, agent);
  if (result.status !== 200) failWith(target, `status ${result.status}: ${result.error?.slice(0, 300) ?? ''}`);
  if (result.text !== EXPECTED_TEXT || !result.done) failWith(target, `stream text ${JSON.stringify(result.text)}, done ${result.done}`);
  return result.ttftMs;
}

function summaries(samples: Map<string, number[]>): Record<string, Summary> {
  return Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
}

/** Measures every target both ways and prints the two tables. */
export async function measureOverhead(targets: ChatTarget[], agent: Agent, options: InterleavedOptions): Promise<OverheadResult> {
  const nonStreaming = summaries(
    await interleaved(
      targets.map((target) => ({ name: target.name, run: () => timeNonStreaming(target, agent) })),
      options,
    ),
  );
  printTable('Non-streaming latency (sequential, interleaved)', targets.map((target) => ({ name: target.name, summary: nonStreaming[target.name] ?? summarize([]) })));
  const ttft = summaries(
    await interleaved(
      targets.map((target) => ({ name: target.name, run: () => timeFirstToken(target, agent) })),
      options,
    ),
  );
  printTable('Streaming time to first token (sequential, interleaved)', targets.map((target) => ({ name: target.name, summary: ttft[target.name] ?? summarize([]) })));
  return { nonStreaming, ttft };
}
