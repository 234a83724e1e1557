/**
 * `npm run bench` (`-- --quick` for a short smoke run): every benchmark side by
 * side in one run, against one loopback upstream. Prints each table as it goes,
 * then a summary block with every target met or not, and writes
 * bench/results/<ISO timestamp>.json. Every process it starts runs in its own
 * process group and is stopped at the end, on failure, and on Ctrl-C.
 * See docs/benchmarks.md for what each figure means.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from './lib/http-client.ts';
import { freePort, stopAll, stopEverythingOnSignals } from './lib/processes.ts';
import { check, summaryLines, writeReport, type BenchReport } from './lib/report.ts';
import { ensureLiteLlm, LITELLM_REQUIREMENT, readCompatibility, startBenchBridge, startLiteLlm, startMiniflare, startPortkey, startUpstreamProcess, type Served } from './lib/servers.ts';
import { deltaMs } from './lib/stats.ts';
import { snapshotWorkerSources } from './lib/snapshot.ts';
import { startWranglerDev } from './lib/wrangler-dev.ts';
import { upstreamPieces } from './upstream/openai-upstream.ts';
import { idleRss, measureRealDaemon } from './sections/bridge-memory.ts';
import { buildWorker, measureBundle } from './sections/bundle.ts';
import { measureChunkCpu, type CpuTarget } from './sections/chunk-cpu.ts';
import { runConcurrentStreams } from './sections/concurrency.ts';
import { measureFailover } from './sections/failover.ts';
import { measureConstrainedDecoding } from './sections/constrained-decoding.ts';
import { measureLocalEngine } from './sections/local-engine.ts';
import { measurePromptCacheReuse } from './prompt-cache-reuse.ts';
import { measureOverhead, type ChatTarget } from './sections/overhead.ts';
import { measurePythonSetup } from './sections/python-setup.ts';
import { measureTunnel } from './sections/tunnel.ts';

const quick = process.argv.includes('--quick');
const plan = quick
  ? { rounds: 30, warmup: 5, firstTimeSamples: 3, failoverRounds: 20, throughputDeltas: 2_000, pacedDeltas: 1_000, throughputRepeats: 1, streams: 100, streamDeltas: 10, cpuChunks: 6_000, localRounds: 5 }
  : { rounds: 300, warmup: 20, firstTimeSamples: 10, failoverRounds: 150, throughputDeltas: 20_000, pacedDeltas: 5_000, throughputRepeats: 3, streams: 100, streamDeltas: 50, cpuChunks: 20_000, localRounds: 30 };
const SECTION_BUDGET_MS = quick ? 20_000 : 60_000;

const GATEWAY_CONFIG = 'wrangler.toml';
const PASSTHROUGH_CONFIG = 'bench/passthrough/wrangler.toml';
const MODEL = 'bench-model';

const report: BenchReport = {
  startedAt: new Date().toISOString(),
  quick,
  machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism(), loadAverage: loadavg() },
  sections: {},
  targets: [],
  failures: [],
  summary: [],
};
const info: string[] = [];
/** Output of the wrangler dev servers, checked when a section fails: they reload when a source file of their snapshot changes. */
const wranglerOutputs: Array<() => string> = [];
function reloadNote(): string {
  const reloaded = wranglerOutputs.some((output) => /Reloading local server|Detected changes, restarted server/.test(output()));
  return reloaded ? 'wrangler dev reloaded the Worker during the run (a source file changed), which fails requests in flight: rerun on a quiet checkout' : '';
}
const scratch = mkdtempSync(join(tmpdir(), 'agent-gateway-bench-'));
const cleanup = async (): Promise<void> => {
  await stopAll();
  rmSync(scratch, { recursive: true, force: true });
};
stopEverythingOnSignals(cleanup);

/** Runs one section; a failure is recorded (with `diagnostics`, e.g. a process's last output) and the run goes on. */
async function section<T>(name: string, run: () => Promise<T>, diagnostics?: () => string): Promise<T | undefined> {
  try {
    const result = await run();
    report.sections[name] = result;
    return result;
  } catch (error) {
    const detail = [reloadNote(), diagnostics?.().trim() ?? ''].filter((line) => line !== '').join('\n');
    const message = `${error instanceof Error ? error.message : String(error)}${detail ? `\n${detail}` : ''}`;
    report.failures.push({ section: name, error: message });
    console.error(`\n[${name}] failed: ${message}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`agent-gateway bench${quick ? ' (quick)' : ''}: ${report.machine.cpus} CPUs, load ${report.machine.loadAverage.map((value) => value.toFixed(2)).join(' ')}`);

  // One snapshot of the sources for every build and server of the run; builds
  // first (section 5 needs nothing else), then every server at once.
  const root = snapshotWorkerSources(join(scratch, 'sources'));
  const [gatewayMinified, gatewayBuild, passthroughBuild] = await Promise.all([
    buildWorker(GATEWAY_CONFIG, join(scratch, 'gateway-min'), { minify: true, metafile: join(scratch, 'gateway-meta.json'), root }),
    buildWorker(GATEWAY_CONFIG, join(scratch, 'gateway'), { root }),
    buildWorker(PASSTHROUGH_CONFIG, join(scratch, 'passthrough'), { root }),
  ]);
  const bundle = await section('bundle', async () => measureBundle(gatewayMinified, join(scratch, 'gateway-meta.json')));
  check(report, 'Worker bundle, gzip (minified)', '≤ 150 KiB', bundle ? bundle.gzipBytes / 1024 : Number.NaN, ' KiB', (value) => value <= 150);

  const upstream = await startUpstreamProcess();
  const closedPort = await freePort(); // nothing listens there: connections are refused
  const gatewayKey = `gk-bench-${randomUUID()}`;
  const bridgeToken = `bt-bench-${randomUUID()}`;
  const gatewayVars = {
    GATEWAY_API_KEY: gatewayKey,
    BRIDGE_TOKEN: bridgeToken,
    OPENAI_API_KEY: 'sk-bench-openai',
    GROQ_API_KEY: 'sk-bench-groq',
    XAI_API_KEY: 'sk-bench-xai',
    ANTHROPIC_API_KEY: 'sk-ant-bench',
    AGENT_ONLINE_ENDPOINTS: JSON.stringify({
      openai: { base_url: `${upstream.url}/v1`, models: [MODEL] },
      anthropic: { base_url: upstream.url, models: [MODEL] },
      groq: { base_url: `${upstream.url}/v1`, models: [MODEL] },
      xai: { base_url: `http://127.0.0.1:${closedPort}/v1`, models: [MODEL] },
    }),
  };
  const passthroughVars = { UPSTREAM_URL: `${upstream.url}/v1` };
  console.log('starting: wrangler dev ×3, Miniflare ×2, Portkey, LiteLLM…');
  // LiteLLM is a peer when it can be had (a bench-only venv, installed from PyPI once): never a reason to fail the run.
  const liteLlm: Promise<{ ok: true; served: Served } | { ok: false; reason: string }> = ensureLiteLlm().then(
    async (installed) => (installed.ok ? { ok: true as const, served: await startLiteLlm(installed.command, upstream.url, scratch) } : installed),
    (error: unknown) => ({ ok: false as const, reason: String(error) }),
  ).catch((error: unknown) => ({ ok: false as const, reason: `LiteLLM did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` }));
  const [gatewayDev, passthroughDev, loggingPassthroughDev, gatewayMiniflare, passthroughMiniflare, portkey] = await Promise.all([
    startWranglerDev('gateway (wrangler dev)', GATEWAY_CONFIG, gatewayVars, root),
    startWranglerDev('pass-through (wrangler dev)', PASSTHROUGH_CONFIG, passthroughVars, root),
    startWranglerDev('pass-through + log line (wrangler dev)', PASSTHROUGH_CONFIG, { ...passthroughVars, LOG_EACH_REQUEST: '1' }, root),
    startMiniflare({ name: 'agent-gateway', bundle: gatewayBuild.bundle, ...readCompatibility(GATEWAY_CONFIG, root), vars: gatewayVars, durableObjects: { BRIDGE_TUNNEL: 'BridgeTunnel' } }),
    startMiniflare({ name: 'bench-passthrough', bundle: passthroughBuild.bundle, ...readCompatibility(PASSTHROUGH_CONFIG, root), vars: passthroughVars }),
    startPortkey(),
  ]);
  for (const served of [gatewayDev, passthroughDev, loggingPassthroughDev]) wranglerOutputs.push(() => served.process.output());
  console.log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const agent = createAgent();
  const gatewayHeaders = { authorization: `Bearer ${gatewayKey}` };
  const chat = (base: string): string => `${base}/v1/chat/completions`;
  const onlineVia = (runtime: string, base: string): ChatTarget => ({ name: `online via gateway, ${runtime}`, url: chat(base), headers: gatewayHeaders, model: `openai/${MODEL}` });
  const portkeyTarget: ChatTarget = {
    name: 'Portkey on Node',
    url: chat(portkey.url),
    headers: { authorization: 'Bearer sk-bench-openai', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream.url}/v1` },
    model: MODEL,
  };
  const targets: ChatTarget[] = [
    { name: 'direct to upstream', url: chat(upstream.url), headers: {}, model: MODEL },
    { name: 'pass-through, wrangler dev', url: chat(passthroughDev.url), headers: {}, model: MODEL },
    { name: 'pass-through + log line, wrangler dev', url: chat(loggingPassthroughDev.url), headers: {}, model: MODEL },
    { name: 'gateway, wrangler dev', url: chat(gatewayDev.url), headers: gatewayHeaders, model: `openai/${MODEL}` },
    { name: 'pass-through, Miniflare', url: chat(passthroughMiniflare.url), headers: {}, model: MODEL },
    { name: 'gateway, Miniflare', url: chat(gatewayMiniflare.url), headers: gatewayHeaders, model: `openai/${MODEL}` },
    portkeyTarget,
  ];

  // 1. Gateway overhead.
  const overhead = await section('overhead', () => measureOverhead(targets, agent, { rounds: plan.rounds, warmup: plan.warmup, budgetMs: SECTION_BUDGET_MS }));
  const share = (kind: 'nonStreaming' | 'ttft', gateway: string, floor: string): number =>
    (overhead?.[kind][gateway]?.p50 ?? Number.NaN) - (overhead?.[kind][floor]?.p50 ?? Number.NaN);
  for (const runtime of ['wrangler dev', 'Miniflare']) {
    const ours = share('nonStreaming', `gateway, ${runtime}`, `pass-through, ${runtime}`);
    const oursTtft = share('ttft', `gateway, ${runtime}`, `pass-through, ${runtime}`);
    check(report, `our code's p50 overhead, non-streaming (${runtime})`, '≤ 1 ms', ours, ' ms', (value) => value <= 1);
    check(report, `our code's TTFT p50 overhead, streaming (${runtime})`, '≤ 2 ms', oursTtft, ' ms', (value) => value <= 2);
  }
  if (overhead) {
    const direct = overhead.nonStreaming['direct to upstream']?.p50 ?? Number.NaN;
    const logLine = share('nonStreaming', 'pass-through + log line, wrangler dev', 'pass-through, wrangler dev');
    info.push(`one console.log per request costs under wrangler dev: ${deltaMs(logLine)} p50 (why the gateway logs only errors, fallbacks and slow requests)`);
    for (const name of ['pass-through, wrangler dev', 'pass-through + log line, wrangler dev', 'gateway, wrangler dev', 'pass-through, Miniflare', 'gateway, Miniflare', 'Portkey on Node']) {
      info.push(`added over a direct call, p50 non-streaming / TTFT: ${name}: ${deltaMs((overhead.nonStreaming[name]?.p50 ?? Number.NaN) - direct)} / ${deltaMs((overhead.ttft[name]?.p50 ?? Number.NaN) - (overhead.ttft['direct to upstream']?.p50 ?? Number.NaN))}`);
    }
  }
  const portkeyP50 = overhead?.nonStreaming['Portkey on Node']?.p50 ?? Number.NaN;
  check(report, 'whole gateway p50 vs Portkey, non-streaming (npm start: Miniflare)', '≤ Portkey', (overhead?.nonStreaming['gateway, Miniflare']?.p50 ?? Number.NaN) - portkeyP50, ' ms', (value) => value <= 0);
  check(report, 'whole gateway p50 vs Portkey, non-streaming (wrangler dev)', '< Portkey', (overhead?.nonStreaming['gateway, wrangler dev']?.p50 ?? Number.NaN) - portkeyP50, ' ms', (value) => value < 0);
  check(report, 'whole gateway TTFT p50 vs Portkey (Miniflare)', '< Portkey', (overhead?.ttft['gateway, Miniflare']?.p50 ?? Number.NaN) - (overhead?.ttft['Portkey on Node']?.p50 ?? Number.NaN), ' ms', (value) => value < 0);

  // 7. CPU per streamed chunk, of each serving process group.
  const litellm = await liteLlm;
  if (!litellm.ok) {
    console.log(`\nLiteLLM proxy skipped: ${litellm.reason}`);
    info.push(`LiteLLM proxy (${LITELLM_REQUIREMENT}) not measured: ${litellm.reason}`);
  }
  const cpuTargets: CpuTarget[] = [
    { name: 'gateway (npm start: Miniflare)', url: chat(gatewayMiniflare.url), headers: gatewayHeaders, model: `openai/${MODEL}`, pgid: gatewayMiniflare.process.child.pid ?? 0 },
    { name: 'pass-through Worker (Miniflare)', url: chat(passthroughMiniflare.url), headers: {}, model: MODEL, pgid: passthroughMiniflare.process.child.pid ?? 0 },
    { name: 'gateway, Anthropic upstream', url: chat(gatewayMiniflare.url), headers: gatewayHeaders, model: `anthropic/${MODEL}`, pgid: gatewayMiniflare.process.child.pid ?? 0 },
    { ...portkeyTarget, pgid: portkey.process.child.pid ?? 0 },
    ...(litellm.ok ? [{ name: 'LiteLLM proxy', url: chat(litellm.served.url), headers: {}, model: MODEL, pgid: litellm.served.process.child.pid ?? 0 }] : []),
  ];
  const cpu = await section('chunk cpu', () => measureChunkCpu(cpuTargets, agent, { sizes: [2000, 200], rounds: (size) => Math.ceil(plan.cpuChunks / size) }));
  const ours = (size: number, mode: 'streaming' | 'nonStreaming'): number => cpu?.[String(size)]?.[mode][cpuTargets[0]!.name] ?? Number.NaN;
  for (const [mode, label] of [['streaming', 'streaming'], ['nonStreaming', 'non-streaming']] as const) {
    check(report, `gateway CPU per chunk, ${label}, N=2000 (npm start)`, '≤ 10 µs', ours(2000, mode), ' µs', (value) => value <= 10);
    check(report, `gateway CPU per chunk, ${label}, Anthropic upstream, N=2000`, '≤ 10 µs', cpu?.['2000']?.[mode][cpuTargets[2]!.name] ?? Number.NaN, ' µs', (value) => value <= 10);
    // Non-streaming, the peers ask the upstream for one JSON body while the gateway streams from it
    // and aggregates (docs/benchmarks.md): their per-chunk figure is then a JSON parse, no target.
    if (mode === 'streaming') {
      for (const peer of cpuTargets.slice(3)) {
        const theirs = cpu?.['2000']?.[mode][peer.name] ?? Number.NaN;
        check(report, `${peer.name}'s CPU per streamed chunk over the gateway's, N=2000`, '> 1×', theirs / ours(2000, mode), '×', (value) => value > 1);
      }
    }
    info.push(`CPU per chunk, ${label}, N=2000 / N=200: ${cpuTargets.map((target) => `${target.name} ${(cpu?.['2000']?.[mode][target.name] ?? Number.NaN).toFixed(1)} / ${(cpu?.['200']?.[mode][target.name] ?? Number.NaN).toFixed(1)} µs`).join('; ')}`);
  }

  // 2. Fail-over.
  for (const [runtime, gateway] of [['wrangler dev', gatewayDev], ['Miniflare', gatewayMiniflare]] as const) {
    const failover = await section(`failover (${runtime})`, () =>
      measureFailover(
        { name: runtime, url: chat(gateway.url), headers: gatewayHeaders, refusingPrefix: 'xai/', backupModel: `groq/${MODEL}` },
        agent,
        plan.firstTimeSamples,
        { rounds: plan.failoverRounds, warmup: plan.warmup },
      ),
    );
    check(report, `fail-over, open breaker adds (${runtime})`, '≤ 1 ms', failover?.addedByOpenBreakerP50 ?? Number.NaN, ' ms', (value) => value <= 1);
    if (failover) {
      const overBackup = failover.firstTime.p50 - failover.straightToBackup.p50;
      info.push(`fail-over first time (breaker closed) TTFT p50 (${runtime}): ${failover.firstTime.p50.toFixed(1)} ms, ${deltaMs(overBackup)} over straight to the backup; attempts ${failover.firstTimeAttempts.join(', ')}`);
    }
  }

  // 4. Concurrent streams through the gateway (online).
  for (const [runtime, gateway] of [['wrangler dev', gatewayDev], ['Miniflare', gatewayMiniflare]] as const) {
    const online = await section(`concurrent online streams (${runtime})`, async () => {
      const streams = Array.from({ length: plan.streams }, (_, index) => {
        const prompt = `echo:g${index} chunks:${plan.streamDeltas}`;
        return { key: `g${index}`, body: { model: `openai/${MODEL}`, messages: [{ role: 'user', content: prompt }], stream: true }, expectedPieces: upstreamPieces(prompt) };
      });
      const result = await runConcurrentStreams(chat(gateway.url), gatewayHeaders, streams, agent);
      console.log(`\n${result.streams} concurrent online streams through the gateway (${runtime}): ${result.lost} lost, ${result.crossed} crossed, ${result.wallMs.toFixed(0)} ms${result.problems.length ? `; ${result.problems.join('; ')}` : ''}`);
      return result;
    });
    check(report, `${plan.streams} concurrent online streams, lost + crossed (${runtime})`, '0', online ? online.lost + online.crossed : Number.NaN, '', (value) => value === 0);
  }

  // 3. The tunnel, and 6. the bridge's idle memory (measured before any load).
  let bridgeOutput = (): string => '';
  const bridges = await section('bridges', async () => {
    const [dev, miniflare] = await Promise.all([startBenchBridge(gatewayDev.url, bridgeToken), startBenchBridge(gatewayMiniflare.url, bridgeToken)]);
    bridgeOutput = () => `bench bridge (wrangler dev) said:\n${dev.process.output().slice(-1500)}\nbench bridge (Miniflare) said:\n${miniflare.process.output().slice(-1500)}`;
    const idle = await idleRss(dev.pid);
    console.log(`\nbench bridge idle RSS (connected, before any request): ${(idle.rssBytes / 2 ** 20).toFixed(1)} MiB`);
    return { devPid: dev.pid, miniflarePid: miniflare.pid, benchBridgeIdle: idle };
  });
  if (bridges) info.push(`bench bridge idle RSS (BridgeClient + bench handler): ${(bridges.benchBridgeIdle.rssBytes / 2 ** 20).toFixed(1)} MiB`);
  const tunnel = bridges
    ? await section('tunnel', () =>
        measureTunnel(
          [
            { name: 'tunnel, wrangler dev', url: chat(gatewayDev.url), headers: gatewayHeaders, online: onlineVia('wrangler dev', gatewayDev.url) },
            { name: 'tunnel, Miniflare', url: chat(gatewayMiniflare.url), headers: gatewayHeaders, online: onlineVia('Miniflare', gatewayMiniflare.url) },
          ],
          agent,
          {
            rounds: plan.rounds,
            warmup: plan.warmup,
            budgetMs: SECTION_BUDGET_MS,
            throughputDeltas: plan.throughputDeltas,
            pacedDeltas: plan.pacedDeltas,
            throughputRepeats: plan.throughputRepeats,
            concurrentStreams: plan.streams,
            deltasPerConcurrentStream: plan.streamDeltas,
          },
        ),
        () => bridgeOutput(),
      )
    : undefined;
  const inProcess = tunnel?.ttft['handler in-process']?.p50 ?? Number.NaN;
  for (const runtime of ['wrangler dev', 'Miniflare']) {
    const name = `tunnel, ${runtime}`;
    check(report, `tunnel adds to TTFT, p50 (${runtime})`, '≤ 5 ms', (tunnel?.ttft[name]?.p50 ?? Number.NaN) - inProcess, ' ms', (value) => value <= 5);
    if (tunnel) info.push(`local TTFT minus online TTFT through the same gateway (${runtime}): ${deltaMs((tunnel.ttft[name]?.p50 ?? Number.NaN) - (tunnel.ttft[`online via gateway, ${runtime}`]?.p50 ?? Number.NaN))} p50`);
    check(report, `tunnel deltas/s, paced one per turn (${runtime})`, '≥ 20,000/s', tunnel?.throughput[name]?.paced.deltasPerSecond ?? Number.NaN, '/s', (value) => value >= 20_000);
    check(report, `tunnel deltas/s, as fast as generated (${runtime})`, '≥ 20,000/s', tunnel?.throughput[name]?.batched.deltasPerSecond ?? Number.NaN, '/s', (value) => value >= 20_000);
    const concurrent = tunnel?.concurrent[name];
    check(report, `${plan.streams} concurrent tunnel streams, lost + crossed (${runtime})`, '0', concurrent ? concurrent.lost + concurrent.crossed : Number.NaN, '', (value) => value === 0);
  }

  // 6. The real bridge daemon, idle (it supersedes the bench bridge on the wrangler dev gateway, so it goes last).
  const daemon = await section('bridge daemon idle memory', async () => {
    const result = await measureRealDaemon(gatewayDev.url, bridgeToken, gatewayKey);
    console.log(`bridge daemon (npm run bridge: the bundle) idle RSS, connected, no model loaded: ${(result.rssBytes / 2 ** 20).toFixed(1)} MiB`);
    return result;
  });
  info.push(`bridge daemon idle RSS (npm run bridge, connected, no model loaded): ${daemon ? `${(daemon.rssBytes / 2 ** 20).toFixed(1)} MiB` : 'not measured'}`);

  // 7. The local engine on the real mlx-lm (its bridge supersedes the bench bridge on the Miniflare gateway, so after section 3).
  const local = await section('local engine', () =>
    measureLocalEngine({ rounds: plan.localRounds, warmup: 2, gateway: { url: gatewayMiniflare.url, gatewayKey, bridgeToken }, agent }),
  );
  const floorName = 'stream_generate in-process (Python)';
  const wholeName = 'gateway + tunnel + bridge (HTTP)';
  check(report, 'local: worker + bridge + tunnel add to TTFT, p50', '≤ 5 ms', (local?.ttft[wholeName]?.p50 ?? Number.NaN) - (local?.ttft[floorName]?.p50 ?? Number.NaN), ' ms', (value) => value <= 5);
  const floorRate = local?.tokensPerSecond[floorName]?.p50 ?? Number.NaN;
  check(report, 'local: worker + bridge + tunnel cost in tokens/s, p50', '≤ 3 %', ((floorRate - (local?.tokensPerSecond[wholeName]?.p50 ?? Number.NaN)) / floorRate) * 100, ' %', (value) => value <= 3);
  const reuse = await section('prompt-cache reuse', () => measurePromptCacheReuse(quick ? 2 : 5));
  check(report, 'local: TTFT of turn 5 warm / cold (prompt-cache reuse)', '≤ 0.3', reuse?.ratio ?? Number.NaN, '×', (value) => value <= 0.3);
  const constrained = await section('constrained decoding', () => measureConstrainedDecoding(quick ? 2 : 5));
  const withGrammar = constrained?.find((row) => row.variant === 'llguidance')?.vs_none ?? Number.NaN;
  check(report, 'local: per-token cost with a JSON schema / without', '≤ 1.2', withGrammar, '×', (value) => value <= 1.2);
  const setup = quick ? undefined : await section('python set-up', () => measurePythonSetup());
  if (setup) info.push(`bridge Python environment set-up: ${setup.coldSeconds.toFixed(1)} s cold, ${setup.warmSeconds.toFixed(1)} s from the package cache`);

  agent.destroy();
  const reloaded = reloadNote();
  if (reloaded) info.push(reloaded);
  report.summary = [...summaryLines(report), ...info];
  const elapsed = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`\n──────── summary (${elapsed} s${quick ? ', quick' : ''}; absolute figures depend on the machine, differences measured interleaved) ────────`);
  for (const line of report.summary) console.log(line);
  console.log(`\nresults: ${writeReport(report)}`);
}

let exitCode = 0;
try {
  await main();
  if (report.failures.length > 0) exitCode = 1;
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  report.failures.push({ section: 'setup', error: String(error) });
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
