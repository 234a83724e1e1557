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

async function serveOnce(target: CpuTarget, chunks: number, stream: boolean, agent: Agent, spacedMs = 0): Promise<number> {
  const prompt = `echo:k chunks:${chunks}${spacedMs > 0 ? ` spaced:${spacedMs}` : ''}`;
  const expected = upstreamPieces(prompt).join('');
  const body = { model: target.model, messages: [{ role: 'user', content: prompt }], stream };
  if (stream) {
    const result = await postStream(target.url, body, target.headers, agent);
    if (result.status !== 200 || result.text !== expected || !result.done) {
      throw new Error(`${target.name} streamed wrongly (status ${result.status}, ${result.text.length}/${expected.length} characters, done ${result.done}${result.error ? `, ${result.error.slice(0, 200)}` : ''})`);
    }
    return result.contentEvents;
  } else {
    const result = await postJson(target.url, body, target.headers, agent);
    if (result.status !== 200 || !result.body.includes(expected)) throw new Error(`${target.name} answered wrongly (status ${result.status}: ${result.body.slice(0, 200)})`);
    return 1;
  }
}

/**
 * CPU per chunk when every chunk arrives on its own network read (the upstream
 * writes them `spacedMs` apart, as a model's tokens come): nothing to coalesce,
 * so this is the per-read cost of each target, its runtime's share included.
 */
export async function measureSpacedChunkCpu(targets: readonly CpuTarget[], agent: Agent, options: { chunks: number; spacedMs: number; requests: number }): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  console.log(`\nCPU per chunk, one network read each (${options.requests} streams of ${options.chunks} chunks, ${options.spacedMs} ms apart)`);
  for (const target of targets) {
    await serveOnce(target, options.chunks, true, agent, options.spacedMs);
    let micros = 0;
    let events = 0;
    for (let request = 0; request < options.requests; request++) {
      const before = groupCpuMicros(target.pgid) ?? Number.NaN;
      events += await serveOnce(target, options.chunks, true, agent, options.spacedMs);
      micros += (groupCpuMicros(target.pgid) ?? Number.NaN) - before;
    }
    result[target.name] = micros / (options.requests * options.chunks);
    console.log(`${target.name.padEnd(34)} ${`${result[target.name]?.toFixed(1)} µs`.padStart(11)}  (${events} SSE events for ${options.requests * options.chunks} chunks)`);
  }
  return result;
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

export interface FrameCpuResult {
  frames: number;
  /** µs of the gateway group's CPU per tunnel frame (the Durable Object and the Worker, which share workerd). */
  microsPerFrame: number;
}

/**
 * The tunnel's cost per frame: `local/bench` streams of `deltas` deltas spaced
 * `spacedMs` apart (over the bridge's 5 ms window, so each delta travels as a
 * frame of its own), the gateway group's CPU divided by the SSE events that
 * arrived (a frame is one event). The bridge's own CPU is another group's.
 */
export async function measureFrameCpu(target: CpuTarget, agent: Agent, options: { deltas: number; spacedMs: number; requests: number }): Promise<FrameCpuResult> {
  const prompt = `stream:f deltas:${options.deltas} spaced:${options.spacedMs}`;
  const expected = Array.from({ length: options.deltas }, (_, index) => `f.${index} `).join('');
  const body = { model: target.model, messages: [{ role: 'user', content: prompt }], stream: true };
  let frames = 0;
  let micros = 0;
  for (let request = -1; request < options.requests; request++) {
    const before = groupCpuMicros(target.pgid);
    const result = await postStream(target.url, body, target.headers, agent);
    const after = groupCpuMicros(target.pgid);
    if (result.status !== 200 || result.text !== expected || !result.done) throw new Error(`${target.name} streamed wrongly (status ${result.status}, ${result.text.length}/${expected.length} characters${result.error ? `, ${result.error.slice(0, 200)}` : ''})`);
    if (before === undefined || after === undefined) throw new Error('no /proc on this machine: CPU per frame is measured on Linux only');
    if (request < 0) continue; // warm-up
    frames += result.contentEvents;
    micros += after - before;
  }
  const microsPerFrame = micros / frames;
  console.log(`\nTunnel CPU per frame (${target.name}): ${microsPerFrame.toFixed(1)} µs over ${frames} frames (${options.requests} streams of ${options.deltas} deltas, ${options.spacedMs} ms apart)`);
  return { frames, microsPerFrame };
}
