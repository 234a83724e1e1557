/**
 * Section 7, CPU per streamed chunk: a completion of N chunks (the upstream's
 * `echo:k chunks:N`), streaming and non-streaming, sent sequentially to each
 * target; the serving process group's CPU (bench/lib/group-cpu.ts) is read
 * before and after, and divided by the chunks served. Every answer is checked
 * to the last piece. The targets take turns, round by round, so a busy machine
 * weighs on all of them alike.
 */
import type { Agent } from 'node:http';
import { groupCpuMicros } from '../lib/group-cpu.ts';
import { postJson, postStream } from '../lib/http-client.ts';
import { upstreamPieces } from '../upstream/openai-upstream.ts';
import type { ChatTarget } from './overhead.ts';

export interface CpuTarget extends ChatTarget {
  /** The process group that serves it (its leader's pid). */
  pgid: number;
}

export interface ChunkCpuOptions {
  sizes: readonly number[];
  /** Requests per target and mode at `size` chunks (more for small sizes: /proc counts in 10 ms ticks). */
  rounds: (size: number) => number;
}

/** µs of CPU per chunk, by size, mode and target name. */
export type ChunkCpuResult = Record<string, { streaming: Record<string, number>; nonStreaming: Record<string, number> }>;

async function serveOnce(target: CpuTarget, chunks: number, stream: boolean, agent: Agent): Promise<void> {
  const prompt = `echo:k chunks:${chunks}`;
  const expected = upstreamPieces(prompt).join('');
  const body = { model: target.model, messages: [{ role: 'user', content: prompt }], stream };
  if (stream) {
    const result = await postStream(target.url, body, target.headers, agent);
    if (result.status !== 200 || result.text !== expected || !result.done) {
      throw new Error(`${target.name} streamed wrongly (status ${result.status}, ${result.text.length}/${expected.length} characters, done ${result.done}${result.error ? `, ${result.error.slice(0, 200)}` : ''})`);
    }
  } else {
    const result = await postJson(target.url, body, target.headers, agent);
    if (result.status !== 200 || !result.body.includes(expected)) throw new Error(`${target.name} answered wrongly (status ${result.status}: ${result.body.slice(0, 200)})`);
  }
}

/** Measures every target, every size, both modes; prints one table per size. */
export async function measureChunkCpu(targets: readonly CpuTarget[], agent: Agent, options: ChunkCpuOptions): Promise<ChunkCpuResult> {
  const result: ChunkCpuResult = {};
  for (const size of options.sizes) {
    const row = { streaming: {} as Record<string, number>, nonStreaming: {} as Record<string, number> };
    for (const [mode, stream] of [['streaming', true], ['nonStreaming', false]] as const) {
      const used = new Map<string, number>(targets.map((target) => [target.name, 0]));
      for (const target of targets) await serveOnce(target, size, stream, agent); // warm-up
      const rounds = options.rounds(size);
      for (let round = 0; round < rounds; round++) {
        for (const target of targets) {
          const before = groupCpuMicros(target.pgid);
          await serveOnce(target, size, stream, agent);
          const after = groupCpuMicros(target.pgid);
          if (before === undefined || after === undefined) throw new Error('no /proc on this machine: CPU per chunk is measured on Linux only');
          used.set(target.name, (used.get(target.name) ?? 0) + after - before);
        }
      }
      for (const target of targets) row[mode][target.name] = (used.get(target.name) ?? 0) / (rounds * size);
    }
    result[String(size)] = row;
    // Ratios to the first target (the gateway): how many times its CPU each peer spends.
    const first = targets[0]?.name ?? '';
    const times = (value: number | undefined, base: number | undefined): string => (value !== undefined && base ? `${(value / base).toFixed(1)}×` : '–');
    console.log(`\nCPU per chunk, N = ${size} (${options.rounds(size)} sequential requests each and mode; the serving process group's CPU from /proc)`);
    console.log(`${'target'.padEnd(34)} ${'streaming'.padStart(11)} ${'× ours'.padStart(7)} ${'non-streaming'.padStart(14)} ${'× ours'.padStart(7)}`);
    for (const target of targets) {
      const streaming = row.streaming[target.name];
      const buffered = row.nonStreaming[target.name];
      console.log(
        `${target.name.padEnd(34)} ${`${streaming?.toFixed(1)} µs`.padStart(11)} ${times(streaming, row.streaming[first]).padStart(7)} ${`${buffered?.toFixed(1)} µs`.padStart(14)} ${times(buffered, row.nonStreaming[first]).padStart(7)}`,
      );
    }
  }
  return result;
}
