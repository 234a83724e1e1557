/**
 * The local-engine section: one greedy 200-token answer of the tiny trained
 * model (tests/models/tiny-chat) on the REAL mlx-lm, timed at four depths,
 * interleaved round by round so drift hits every depth alike:
 * 1. mlx-lm's own `stream_generate`, in-process in Python (the floor);
 * 2. the MLX runner and its Python worker over stdio, from this process;
 * 3. the bridge's request path (`runRequest`: the runner, delta coalescing and
 *    the tunnel frames, serialized as the socket would), no socket;
 * 4. the gateway (Miniflare) + Durable Object + the real bridge CLI, over HTTP.
 * TTFT is the call to the first token; tokens/s is the tokens after the first
 * over the time from the first to the end of the stream.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Agent } from 'node:http';
import * as z from 'zod';
import type { BridgeHandler } from '../../bridge/bridge-handler.ts';
import { runRequest } from '../../bridge/connection/request-runner.ts';
import type { OutgoingFrame } from '../../protocol/tunnel-frames.ts';
import { MlxRunner } from '../../bridge/runners/mlx/mlx-runner.ts';
import { resolveGenerationConfig } from '../../bridge/runners/generation-config.ts';
import { pythonEnvLayout } from '../../bridge/python-env/python-env-layout.ts';
import { chatRequestSchema } from '../../protocol/chat-request.ts';
import { defaultRuntimeDeps } from '../../protocol/runtime-deps.ts';
import { postStream } from '../lib/http-client.ts';
import { REPO_ROOT, spawnGroup } from '../lib/processes.ts';
import { printTable, summarize, type Summary } from '../lib/stats.ts';

const MODEL_ID = 'tiny-chat';
const MODEL_DIR = join(REPO_ROOT, 'tests', 'models', MODEL_ID);
const MESSAGES = [{ role: 'user' as const, content: 'Count from 1 to 60' }];
/** The trained answer is longer than this, so every depth generates exactly this many tokens. */
const TOKENS = 200;
const CONNECT_TIMEOUT_MS = 60_000;

interface Sample {
  ttftMs: number;
  tokensPerSecond: number;
}

export interface LocalEngineResult {
  tokens: number;
  ttft: Record<string, Summary>;
  tokensPerSecond: Record<string, Summary>;
}

export interface LocalEngineOptions {
  rounds: number;
  warmup: number;
  /** The gateway served by Miniflare, its keys; a real bridge CLI is started against it. */
  gateway: { url: string; gatewayKey: string; bridgeToken: string };
  agent: Agent;
}

const rate = (tokens: number, streamMs: number): number => ((tokens - 1) / streamMs) * 1000;

/** Depth 1: the Python floor, one generation per line written to it. */
async function startPythonFloor(python: string): Promise<{ run: () => Promise<Sample>; stop: () => void }> {
  const child = spawn(python, [join(REPO_ROOT, 'bench', 'local-engine', 'stream_generate.py'), MODEL_DIR], { stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env.PATH, PYTHONPATH: '' } });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done) throw new Error('the stream_generate bench script exited');
    return JSON.parse(line.value);
  };
  await next(); // {"ready": true}
  const answer = z.object({ ttft_ms: z.number(), stream_ms: z.number(), tokens: z.number() });
  return {
    run: async () => {
      child.stdin.write(`${JSON.stringify({ messages: MESSAGES, max_tokens: TOKENS })}\n`);
      const figures = answer.parse(await next());
      return { ttftMs: figures.ttft_ms, tokensPerSecond: rate(figures.tokens, figures.stream_ms) };
    },
    stop: () => child.kill('SIGTERM'),
  };
}

const request = chatRequestSchema.parse({ model: MODEL_ID, messages: MESSAGES, max_tokens: TOKENS, temperature: 0, stream: true });

/** Depth 2: the runner and its worker. */
async function throughWorker(runner: MlxRunner): Promise<Sample> {
  const started = performance.now();
  let first = Number.NaN;
  let tokens = 0;
  for await (const event of runner.generate(request, resolveGenerationConfig(request), new AbortController().signal)) {
    if (event.type === 'text-delta' && Number.isNaN(first)) first = performance.now();
    if (event.type === 'finish') tokens = event.usage?.completion_tokens ?? 0;
  }
  return { ttftMs: first - started, tokensPerSecond: rate(tokens, performance.now() - first) };
}

/** Depth 3: the bridge's request path, every frame serialized and read back as the socket would carry it. */
async function throughBridgePath(handler: BridgeHandler): Promise<Sample> {
  const started = performance.now();
  let first = Number.NaN;
  let tokens = 0;
  const send = (frame: OutgoingFrame): void => {
    const carried = JSON.parse(JSON.stringify(frame)) as OutgoingFrame;
    if (carried.t === 'delta' && Number.isNaN(first)) first = performance.now();
    if (carried.t === 'end') tokens = carried.usage?.completion_tokens ?? 0;
  };
  const frame = { v: 1 as const, t: 'req' as const, id: randomUUID(), op: 'chat.completions' as const, model: MODEL_ID, body: request, deadlineMs: 60_000 };
  await runRequest(frame, new AbortController().signal, send, { handler, isBackedUp: () => false, log: () => undefined, sleep: defaultRuntimeDeps.sleep });
  return { ttftMs: first - started, tokensPerSecond: rate(tokens, performance.now() - first) };
}

/** Depth 4: the whole local path over HTTP. */
async function throughGateway(options: LocalEngineOptions): Promise<Sample> {
  const body = { model: `local/${MODEL_ID}`, messages: MESSAGES, max_tokens: TOKENS, temperature: 0, stream: true };
  const result = await postStream(`${options.gateway.url}/v1/chat/completions`, body, { authorization: `Bearer ${options.gateway.gatewayKey}` }, options.agent);
  if (result.status !== 200 || result.error) throw new Error(`the gateway answered ${result.status}: ${result.error ?? ''}`);
  return { ttftMs: result.ttftMs, tokensPerSecond: rate(TOKENS, result.streamMs) };
}

const bridgeStatusSchema = z.object({ connected: z.boolean(), bridge_id: z.string().nullish(), models: z.array(z.unknown()).optional() });

/** Starts the real bridge CLI on the real engine against the gateway; resolves once the gateway names it. */
async function startRealBridge(options: LocalEngineOptions, python: string) {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-bench-local-'));
  const daemon = spawnGroup('bridge daemon (real mlx-lm)', process.execPath, ['bridge/cli.ts', '--url', options.gateway.url, '--token', options.gateway.bridgeToken], {
    env: {
      HOME: scratch,
      XDG_CONFIG_HOME: join(scratch, 'config'),
      XDG_STATE_HOME: join(scratch, 'state'),
      HF_HOME: join(scratch, 'hf'),
      BRIDGE_PYTHON: python,
      PYTHONPATH: '',
      LOCAL_MODEL_PATHS: JSON.stringify({ [MODEL_ID]: MODEL_DIR }),
      BRIDGE_PROMPT_CACHE_ENTRIES: '0',
    },
    afterStop: () => rmSync(scratch, { recursive: true, force: true }),
  });
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    if (daemon.child.exitCode !== null) throw new Error(`the bridge daemon exited (${daemon.child.exitCode}):\n${daemon.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`the bridge daemon did not connect:\n${daemon.output().slice(-2000)}`);
    const response = await fetch(`${options.gateway.url}/v1/bridge`, { headers: { authorization: `Bearer ${options.gateway.gatewayKey}` } });
    const status = bridgeStatusSchema.safeParse(await response.json());
    if (status.success && status.data.connected && status.data.bridge_id && !status.data.bridge_id.startsWith('bench-bridge-')) return daemon;
    await new Promise((done) => setTimeout(done, 200));
  }
}

export async function measureLocalEngine(options: LocalEngineOptions): Promise<LocalEngineResult> {
  const { python } = pythonEnvLayout();
  const floor = await startPythonFloor(python);
  const runner = new MlxRunner({
    python,
    env: { PATH: process.env.PATH, PYTHONPATH: '' },
    modelPaths: { [MODEL_ID]: MODEL_DIR },
    idleUnloadSec: 3_600,
    // Every depth does the same work: no depth reuses the KV cache of the round before (the floor cannot).
    promptCacheEntries: 0,
    generateId: randomUUID,
    log: () => undefined,
  });
  const handler: BridgeHandler = {
    runners: () => ['mlx'],
    listModels: async () => [],
    runnerFor: () => 'mlx',
    generate: (modelId, body, signal) => runner.generate({ ...body, model: modelId }, resolveGenerationConfig(body), signal),
    memory: async () => ({}),
    close: async () => undefined,
  };
  const daemon = await startRealBridge(options, python);
  const depths: Array<{ name: string; run: () => Promise<Sample> }> = [
    { name: 'stream_generate in-process (Python)', run: floor.run },
    { name: 'MLX runner + worker (stdio)', run: () => throughWorker(runner) },
    { name: 'bridge request path (frames)', run: () => throughBridgePath(handler) },
    { name: 'gateway + tunnel + bridge (HTTP)', run: () => throughGateway(options) },
  ];
  try {
    for (let round = 0; round < options.warmup; round++) for (const depth of depths) await depth.run();
    const samples = new Map(depths.map((depth) => [depth.name, [] as Sample[]]));
    for (let round = 0; round < options.rounds; round++) {
      for (let offset = 0; offset < depths.length; offset++) {
        const depth = depths[(round + offset) % depths.length];
        if (depth) samples.get(depth.name)?.push(await depth.run());
      }
    }
    const ttft: Record<string, Summary> = {};
    const tokensPerSecond: Record<string, Summary> = {};
    for (const [name, list] of samples) {
      ttft[name] = summarize(list.map((sample) => sample.ttftMs));
      tokensPerSecond[name] = summarize(list.map((sample) => sample.tokensPerSecond));
    }
    printTable(`local engine, TTFT of a ${TOKENS}-token answer (tiny-chat, real mlx-lm ${process.platform === 'darwin' ? 'Metal' : 'CPU'})`, depths.map((depth) => ({ name: depth.name, summary: ttft[depth.name]! })));
    console.log(`\nlocal engine, tokens/s (p50)`);
    const floorRate = tokensPerSecond[depths[0]!.name]?.p50 ?? Number.NaN;
    for (const depth of depths) {
      const p50 = tokensPerSecond[depth.name]?.p50 ?? Number.NaN;
      console.log(`  ${depth.name.padEnd(38)} ${p50.toFixed(0).padStart(6)} tok/s  ${(((p50 - floorRate) / floorRate) * 100).toFixed(1).padStart(6)} % vs the floor`);
    }
    return { tokens: TOKENS, ttft, tokensPerSecond };
  } finally {
    floor.stop();
    await runner.cleanup();
    await daemon.stop();
  }
}
