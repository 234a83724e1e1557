/**
 * The reliability suite: the whole stack under load and faults, with figures.
 * Real processes throughout (sqld, the Worker under wrangler dev, the real
 * bridge CLI and its Python worker over the `mlx_lm` double, loopback
 * providers); the official `openai` client as the caller; sentinel secrets
 * (`sk-SENTINEL-<uuid>`) in every key and token. Each scenario counts what it
 * observed into `figures`, asserts on those counts, and the one-line summary
 * is printed after the last one (see reliability-report.ts, docs/testing.md).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import type { MockStream } from '../helpers/mock-provider-types.ts';
import { reportFigures, within, type ReliabilityFigures, type StreamFigures } from './reliability-report.ts';
import {
  echoOf,
  findSecrets,
  localModelPaths,
  MLX_MODEL,
  MLX_MODEL_ID,
  openAIErrorOf,
  readStream,
  sentinel,
  sentinelSecrets,
  startEchoUpstream,
  startStack,
  waitForEmptyGroup,
  type BridgeProcess,
  type EchoUpstream,
  type Stack,
} from './stack.ts';

const CONCURRENT_STREAMS = 100;
const BRIDGE_KILLS = 10;
const IN_FLIGHT_PER_KILL = 3;
const SQLD_KILLS = 4;
const SETTINGS_WRITERS = 4;
const ONLINE_DISCONNECTS = 20;
const STALLED_DISCONNECTS = 5;
/** Anthropic's per-attempt deadline in this stack: what releases an upstream call nobody waits for any more. */
const ANTHROPIC_ATTEMPT_TIMEOUT_MS = 3_000;
const TUNNEL_DISCONNECTS = 20;
/** How long an in-flight request may take to end after its bridge died, or a leftover to drain, before it counts as hung. */
const SETTLE_BOUND_MS = 15_000;
/** How long a Python worker may outlive its killed bridge before it counts as orphaned. */
const ORPHAN_BOUND_MS = 1_000;

const secrets = sentinelSecrets();
const figures: ReliabilityFigures = {};
let stack: Stack;
let echo: EchoUpstream;

beforeAll(async () => {
  echo = await startEchoUpstream(secrets.XAI_API_KEY);
  // xAI is served by the echo upstream: it knows exactly which of its responses are still open.
  stack = await startStack({ secrets, endpoints: { xai: { base_url: echo.baseUrl }, anthropic: { timeout_ms: ANTHROPIC_ATTEMPT_TIMEOUT_MS } } });
});

afterAll(async () => {
  await stack?.stop();
  await echo?.close();
  reportFigures(figures);
});

const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];
const MARKER = /\bm-\d+-[0-9a-f]{8}\b/;

async function bridgeInFlight(): Promise<number> {
  const status = (await (await stack.api('/v1/bridge')).json()) as { in_flight?: number; connected?: boolean };
  return status.in_flight ?? -1;
}

/** Polls GET /v1/bridge (a condition, not a fixed wait) until `predicate` holds or the bound passes. */
async function waitForBridgeInFlight(predicate: (inFlight: number) => boolean, boundMs: number): Promise<number> {
  const deadline = Date.now() + boundMs;
  let inFlight = await bridgeInFlight();
  while (!predicate(inFlight) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    inFlight = await bridgeInFlight();
  }
  return inFlight;
}

/** Waits for a condition the scenario itself moves forward; fails loudly instead of waiting forever. */
async function until(condition: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Pacing for loops that hit a dead database: a failure comes back at once. */
const breath = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

describe('100 concurrent streams', () => {
  it('through the gateway: every stream gets exactly what its own upstream sent', async () => {
    const scripted: OnlineProvider[] = ['openai', 'anthropic', 'groq'];
    const expected = new Map<string, string>();
    const scripts = new Map<OnlineProvider, MockStream[]>();
    const requests = Array.from({ length: CONCURRENT_STREAMS }, (_, index) => {
      const provider = (['openai', 'anthropic', 'groq', 'xai'] as const)[index % 4] ?? 'openai';
      const marker = `m-${index}-${crypto.randomUUID().slice(0, 8)}`;
      if (provider === 'xai') {
        // The echo upstream sends the message back: its words are the expected text.
        const content = `${marker} alpha beta gamma delay:3`;
        expected.set(marker, echoOf(content));
        return { provider, marker, content };
      }
      return { provider, marker, content: `${marker} please` };
    });
    for (const provider of scripted) {
      const count = requests.filter((request) => request.provider === provider).length;
      scripts.set(
        provider,
        Array.from({ length: count }, (_, slot) => ({ kind: 'stream', deltas: [`${provider}#${slot}: `, 'one ', 'two ', 'three ', `${slot}`], delayMs: 3 })),
      );
      stack.mocks.providers[provider].reset();
      stack.mocks.providers[provider].script(scripts.get(provider) ?? []);
    }
    const models: Record<OnlineProvider, string> = { openai: 'openai/gpt-4o-mini', anthropic: 'anthropic/claude-sonnet-4-5', groq: 'groq/llama-3.1-8b-instant', xai: 'xai/grok-4' };

    const outcomes = await Promise.all(
      requests.map(async (request) => {
        try {
          const stream = await stack.client.chat.completions.create({ model: models[request.provider], messages: ask(request.content), stream: true });
          return { request, streamed: await readStream(stream) };
        } catch (error) {
          return { request, error };
        }
      }),
    );

    // The mock takes its scripted behaviours in arrival order: call k got script k.
    for (const provider of scripted) {
      const calls = stack.mocks.providers[provider].calls();
      expect(calls, `${provider} upstream calls`).toHaveLength(scripts.get(provider)?.length ?? -1);
      calls.forEach((call, slot) => {
        const marker = MARKER.exec(JSON.stringify(call.body))?.[0];
        const script = scripts.get(provider)?.[slot];
        if (marker && script) expected.set(marker, script.deltas.join(''));
      });
    }
    const result: StreamFigures = { streams: outcomes.length, lost: 0, crossed: 0 };
    for (const outcome of outcomes) {
      if (!('streamed' in outcome) || !outcome.streamed || outcome.streamed.finishReason !== 'stop') {
        result.lost += 1;
        continue;
      }
      if (outcome.streamed.text !== expected.get(outcome.request.marker)) result.crossed += 1;
    }
    figures.gateway = result;
    expect(expected.size).toBe(CONCURRENT_STREAMS);
    expect(result).toEqual({ streams: CONCURRENT_STREAMS, lost: 0, crossed: 0 });
  });

  it('through the tunnel: every local stream gets its own answer from the real bridge', async () => {
    const bridge = await stack.startBridge('mlx', { env: { BRIDGE_MAX_CONCURRENT: '8', BRIDGE_MAX_QUEUE: '200' } });
    const requests = Array.from({ length: CONCURRENT_STREAMS }, (_, index) => {
      const marker = `m-${index}-${crypto.randomUUID().slice(0, 8)}`;
      return { marker, content: `${marker} through the tunnel ${index}` };
    });
    const outcomes = await Promise.all(
      requests.map(async (request) => {
        try {
          return { request, streamed: await readStream(await stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask(request.content), stream: true })) };
        } catch (error) {
          return { request, error };
        }
      }),
    );
    const result: StreamFigures = { streams: outcomes.length, lost: 0, crossed: 0 };
    const failures: string[] = [];
    for (const outcome of outcomes) {
      if (!('streamed' in outcome) || !outcome.streamed || outcome.streamed.finishReason !== 'stop') {
        result.lost += 1;
        if ('error' in outcome) failures.push(String(outcome.error));
        continue;
      }
      // The double answers with the message itself, word by word.
      if (outcome.streamed.text !== echoOf(outcome.request.content)) result.crossed += 1;
    }
    figures.tunnel = result;
    expect(failures.slice(0, 3)).toEqual([]);
    expect(result).toEqual({ streams: CONCURRENT_STREAMS, lost: 0, crossed: 0 });
    expect(await waitForBridgeInFlight((n) => n === 0, SETTLE_BOUND_MS)).toBe(0);
    await bridge.stopGroup('SIGTERM');
  });
});

describe('client disconnects during load', () => {
  it('abort the upstream call or the bridge request, mid-stream and before the first token, and leave nothing pending', async () => {
    const bridge = await stack.startBridge('mlx', { env: { BRIDGE_MAX_CONCURRENT: '4', BRIDGE_MAX_QUEUE: '64', MLX_DOUBLE_TOKEN_DELAY_MS: '10' } });
    const cancelledBefore = (bridge.output().match(/cancelled by the client/g) ?? []).length;
    const abortedBefore = echo.aborted();
    stack.mocks.providers.anthropic.reset();
    // Scripted, not the default: the attempts that follow a deadline get a normal answer.
    stack.mocks.providers.anthropic.script(Array.from({ length: STALLED_DISCONNECTS }, () => ({ kind: 'stall' as const })));
    const longText = Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ');
    const abandonMidStream = async (model: string, content: string): Promise<void> => {
      const controller = new AbortController();
      const stream = await stack.client.chat.completions.create({ model, messages: ask(content), stream: true }, { signal: controller.signal });
      let seen = 0;
      try {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) seen += 1;
          if (seen >= 2) controller.abort();
        }
      } catch {
        // The abort surfaces as an error of the iteration: that is the point.
      }
    };
    // Before the first token: the upstream holds the request; the client gives up once it is there.
    const beforeFirstToken = new AbortController();
    const stalled = Array.from({ length: STALLED_DISCONNECTS }, () =>
      stack.client.chat.completions
        .create({ model: 'anthropic/claude-sonnet-4-5', messages: ask('stall'), stream: true }, { signal: beforeFirstToken.signal })
        .catch(() => undefined),
    );
    await stack.mocks.providers.anthropic.waitForCalls({ count: STALLED_DISCONNECTS, timeoutMs: SETTLE_BOUND_MS });
    beforeFirstToken.abort();
    await Promise.all([
      ...stalled,
      ...Array.from({ length: ONLINE_DISCONNECTS }, () => abandonMidStream('xai/grok-4', `${longText} delay:25`)),
      ...Array.from({ length: TUNNEL_DISCONNECTS }, () => abandonMidStream(MLX_MODEL, longText)),
    ]);

    // Mid-stream: each abandoned upstream call and bridge request must end, within the bound.
    const openUpstream = await echo.waitUntilIdle(SETTLE_BOUND_MS);
    const bridgeLeft = await waitForBridgeInFlight((n) => n === 0, SETTLE_BOUND_MS);
    const cancelledPattern = new RegExp(`(?:[\\s\\S]*?cancelled by the client){${cancelledBefore + TUNNEL_DISCONNECTS}}`);
    await bridge.waitForOutput(cancelledPattern, SETTLE_BOUND_MS).catch(() => undefined);
    // Before the first byte: under wrangler dev the proxy does not pass this on (workers-sdk#9334;
    // pinned in workerd by tests/workers/chat-cancel.test.ts), so count what got through in a second,
    // then the upstream is released by the per-attempt deadline (ANTHROPIC_ATTEMPT_TIMEOUT_MS).
    const abortedSoon = (calls: Array<{ aborted: boolean }>): number => calls.filter((call) => call.aborted).length;
    const forwarded = await stack.mocks.providers.anthropic
      .waitForCalls({ aborted: STALLED_DISCONNECTS, timeoutMs: 1_000 })
      .then(abortedSoon, () => abortedSoon(stack.mocks.providers.anthropic.calls()));
    const released = await stack.mocks.providers.anthropic
      .waitForCalls({ aborted: STALLED_DISCONNECTS, timeoutMs: ANTHROPIC_ATTEMPT_TIMEOUT_MS + SETTLE_BOUND_MS })
      .then(abortedSoon, () => abortedSoon(stack.mocks.providers.anthropic.calls()));

    figures.disconnects = {
      midStreamOnline: ONLINE_DISCONNECTS,
      midStreamOnlineAborted: echo.aborted() - abortedBefore,
      midStreamTunnel: TUNNEL_DISCONNECTS,
      bridgeCancelled: (bridge.output().match(/cancelled by the client/g) ?? []).length - cancelledBefore,
      beforeFirstToken: STALLED_DISCONNECTS,
      beforeFirstTokenForwarded: forwarded,
      pending: openUpstream + Math.max(0, bridgeLeft) + (STALLED_DISCONNECTS - released),
    };
    expect(figures.disconnects).toMatchObject({
      pending: 0,
      midStreamOnlineAborted: ONLINE_DISCONNECTS,
      bridgeCancelled: TUNNEL_DISCONNECTS,
    });
    stack.mocks.providers.anthropic.reset();

    // And the gateway still serves both ways.
    const online = await stack.client.chat.completions.create({ model: 'xai/grok-4', messages: ask('still here') });
    expect(online.choices[0]?.message.content).toBe('still here');
    const local = await stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask('still here') });
    expect(local.choices[0]?.message.content).toBe('still here');
    await bridge.stopGroup('SIGTERM');
  });
});

/** How a request that was in flight when its bridge died ended. */
type KillOutcome = 'clean' | 'unclean' | 'hung';

function classifyKilledRequest(settled: Awaited<ReturnType<typeof within<unknown>>>): KillOutcome {
  if (!settled.settled) return 'hung';
  if (!('error' in settled)) return 'unclean'; // a full answer cannot be: its bridge died mid-answer
  const error = settled.error;
  // An APIError with a status and an OpenAI-shaped body, or the SSE error event the SDK raises.
  if (error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError) && error.message.length > 0 && typeof error.type === 'string') {
    return 'clean';
  }
  return 'unclean';
}

describe('the bridge killed during load', () => {
  // Each cycle its own model name (the same weights): the breaker counts per model, so a cycle can
  // never be helped or hurt by the one before it.
  const killModels = Array.from({ length: BRIDGE_KILLS }, (_, kill) => `kill-${kill}`);
  const bridgeEnv = { MLX_DOUBLE_TOKEN_DELAY_MS: '20', BRIDGE_MAX_CONCURRENT: '4', LOCAL_MODEL_PATHS: localModelPaths([MLX_MODEL_ID, ...killModels, 'after-crash']) };
  const longText = Array.from({ length: 200 }, (_, index) => `k${index}`).join(' ');

  /** Puts `count` requests (streaming and not) on the bridge for `model` and resolves once it holds them all. */
  async function requestsInFlight(model: string, count: number): Promise<Array<Promise<unknown>>> {
    const inFlight = Array.from({ length: count }, (_, index) =>
      index % 3 === 2
        ? stack.client.chat.completions.create({ model, messages: ask(longText) })
        : stack.client.chat.completions.create({ model, messages: ask(longText), stream: true }).then(readStream),
    );
    // Observed later through `within`; never left unhandled if the scenario fails first.
    for (const request of inFlight) request.catch(() => undefined);
    const reached = await waitForBridgeInFlight((n) => n >= count, SETTLE_BOUND_MS);
    expect(reached, 'requests held by the bridge before the kill').toBeGreaterThanOrEqual(count);
    return inFlight;
  }

  // Orphaned workers are counted in the figures and pinned by the known-bug test below.
  it('ends every in-flight request with a clean error, never a hang, and serves again after each restart', { timeout: 120_000 }, async () => {
    const result = { kills: 0, cleanErrors: 0, uncleanEnds: 0, hung: 0, servedAfterRestart: 0, breakerRefusedAfterRestart: 0, otherModelServedAfterRestart: 0, orphanWorkers: 0 };
    const unclean: string[] = [];
    let bridge: BridgeProcess = await stack.startBridge('mlx', { env: bridgeEnv });
    for (const [kill, modelId] of killModels.entries()) {
      const model = `local/${modelId}`;
      const inFlight = await requestsInFlight(model, IN_FLIGHT_PER_KILL);

      // SIGKILL to the daemon alone, as a crash would: its Python worker must notice and go too.
      bridge.child.kill('SIGKILL');
      await bridge.exited;
      result.kills += 1;
      for (const settled of await Promise.all(inFlight.map((request) => within(request, SETTLE_BOUND_MS)))) {
        const outcome = classifyKilledRequest(settled);
        if (outcome === 'clean') result.cleanErrors += 1;
        else if (outcome === 'hung') result.hung += 1;
        else {
          result.uncleanEnds += 1;
          unclean.push('error' in settled ? String(settled.error) : 'completed');
        }
      }
      // The worker reads EOF on stdin the moment its bridge dies: a second is plenty to exit.
      const orphans = await waitForEmptyGroup(bridge.child.pid ?? -1, ORPHAN_BOUND_MS);
      result.orphanWorkers += orphans.length;
      if (orphans.length > 0) await bridge.stopGroup('SIGKILL');

      bridge = await stack.startBridge('mlx', { env: bridgeEnv });
      const same = await stack.client.chat.completions.create({ model, messages: ask(`after kill ${kill}`) }).catch((error: unknown) => error);
      if (same instanceof OpenAI.APIError && same.code === 'circuit_open') result.breakerRefusedAfterRestart += 1;
      else if (!(same instanceof Error) && (same as OpenAI.ChatCompletion).choices[0]?.message.content === `after kill ${kill}`) result.servedAfterRestart += 1;
      const other = await stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask(`other model ${kill}`) }).catch(() => undefined);
      if (other?.choices[0]?.message.content === `other model ${kill}`) result.otherModelServedAfterRestart += 1;
    }
    await bridge.stopGroup('SIGTERM');
    figures.bridgeKills = result;
    expect(unclean.slice(0, 3)).toEqual([]);
    expect(result).toMatchObject({
      kills: BRIDGE_KILLS,
      cleanErrors: BRIDGE_KILLS * IN_FLIGHT_PER_KILL,
      uncleanEnds: 0,
      hung: 0,
      otherModelServedAfterRestart: BRIDGE_KILLS,
      servedAfterRestart: BRIDGE_KILLS,
      breakerRefusedAfterRestart: 0,
    });
  });

  // A crash's `bridge_offline` errors say nothing about the model's health: they must not open its
  // circuit breaker, or the model would answer 503 circuit_open for 30 s after the bridge is back.
  it('serves the crashed model as soon as the bridge is back', async () => {
    let bridge = await stack.startBridge('mlx', { env: bridgeEnv });
    const inFlight = await requestsInFlight('local/after-crash', IN_FLIGHT_PER_KILL);
    bridge.child.kill('SIGKILL');
    await Promise.all(inFlight.map((request) => within(request, SETTLE_BOUND_MS)));
    await bridge.stopGroup('SIGKILL');
    bridge = await stack.startBridge('mlx', { env: bridgeEnv });
    try {
      const answer = await stack.client.chat.completions.create({ model: 'local/after-crash', messages: ask('back again') });
      expect(answer.choices[0]?.message.content).toBe('back again');
    } finally {
      await bridge.stopGroup('SIGTERM');
    }
  });

  // Known bug (reported to the lead): when the bridge dies, the worker's next write to the
  // protocol pipe raises BrokenPipeError, which kills its generation and heartbeat threads
  // (bridge/python/mlx_worker.py:191 and :129); the `_shutdown` queued on stdin EOF is then never
  // served and the main thread waits forever (:377). The worker lives on, holding the model's
  // memory. Flip to `it` when fixed.
  it.fails('takes its Python worker with it when the bridge process is killed mid-generation', async () => {
    const bridge = await stack.startBridge('mlx', { env: bridgeEnv });
    const inFlight = await requestsInFlight(MLX_MODEL, 1);
    bridge.child.kill('SIGKILL');
    await Promise.all(inFlight.map((request) => within(request, SETTLE_BOUND_MS)));
    const left = await waitForEmptyGroup(bridge.child.pid ?? -1, 5_000);
    await bridge.stopGroup('SIGKILL');
    expect(left).toEqual([]);
  });
});

interface SettingsWrite {
  marker: string;
  body: Record<string, unknown>;
}

/** A full settings body whose every field carries `marker`, so a mix of two writes shows. */
function settingsWrite(marker: string, index: number): SettingsWrite {
  return {
    marker,
    body: {
      preferred_transport: 'online',
      default_online_model: `openai/${marker}`,
      default_local_model: `local/${marker}`,
      backup_models: [`groq/${marker}`, `anthropic/${marker}`],
      rag_archives: [`archive-${marker}`, `${index}`],
    },
  };
}

/** The marker every field agrees on, `'defaults'` for an empty row, or undefined for a mix. */
function markerOf(settings: Record<string, unknown>): string | undefined {
  if (settings['default_online_model'] === null && settings['updated_at'] === null) return 'defaults';
  const seen = new Set<string>();
  const online = String(settings['default_online_model'] ?? '');
  const local = String(settings['default_local_model'] ?? '');
  const backups = Array.isArray(settings['backup_models']) ? settings['backup_models'].map(String) : [];
  const archives = Array.isArray(settings['rag_archives']) ? settings['rag_archives'].map(String) : [];
  seen.add(online.replace(/^openai\//, ''));
  seen.add(local.replace(/^local\//, ''));
  for (const backup of backups) seen.add(backup.replace(/^(groq|anthropic)\//, ''));
  seen.add((archives[0] ?? '').replace(/^archive-/, ''));
  return seen.size === 1 && backups.length === 2 && archives.length === 2 ? [...seen][0] : undefined;
}

describe('sqld killed during settings writes', () => {
  it('lets each write land fully or fail loudly with an OpenAI-shaped 5xx, never half-written, and keeps acknowledged writes', async () => {
    const database = stack.database;
    if (!database) throw new Error('the suite needs the database');
    const result = { kills: 0, landed: 0, failedLoudly: 0, unclean: 0, halfWritten: 0, acknowledgedLost: 0 };
    const issued = new Set<string>();
    const unclean: string[] = [];
    let written = 0;
    let stopWriting = false;

    const write = async (writer: number): Promise<void> => {
      while (!stopWriting) {
        const index = written++;
        const { marker, body } = settingsWrite(`w${writer}-${index}`, index);
        issued.add(marker);
        // PUT and PATCH (every field) alternate: both must be all-or-nothing.
        const method = index % 2 === 0 ? 'PUT' : 'PATCH';
        const response = await stack.api('/v1/settings', { method, body: JSON.stringify(body) }).catch((error: unknown) => error);
        if (!(response instanceof Response)) {
          result.unclean += 1;
          unclean.push(`${method}: ${String(response)}`);
          await breath();
          continue;
        }
        const answer = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
        if (response.status === 200 && answer && markerOf(answer) === marker) result.landed += 1;
        else if (response.status >= 500 && openAIErrorOf(answer)) {
          result.failedLoudly += 1;
          await breath();
        } else {
          result.unclean += 1;
          unclean.push(`${method} ${response.status}: ${JSON.stringify(answer).slice(0, 200)}`);
        }
      }
    };
    const read = async (): Promise<void> => {
      while (!stopWriting) {
        const response = await stack.api('/v1/settings').catch(() => undefined);
        if (response?.status !== 200) {
          await response?.body?.cancel();
          await breath();
          continue;
        }
        const settings = (await response.json()) as Record<string, unknown>;
        const marker = markerOf(settings);
        if (marker === undefined || (marker !== 'defaults' && !issued.has(marker))) result.halfWritten += 1;
      }
    };
    const killer = async (): Promise<void> => {
      for (let kill = 0; kill < SQLD_KILLS; kill++) {
        // Kill while writes are running: wait for some to land first.
        const landed = result.landed;
        await until(() => result.landed >= landed + 10, 'writes to land');
        await database.kill();
        result.kills += 1;
        const failed = result.failedLoudly;
        await until(() => result.failedLoudly >= failed + SETTINGS_WRITERS, 'writes to fail while sqld is down');
        await database.start();
      }
      const landed = result.landed;
      await until(() => result.landed >= landed + 10, 'writes to land after the last restart');
      stopWriting = true;
    };
    await stack.api('/v1/settings', { method: 'DELETE' });
    await Promise.all([killer(), read(), ...Array.from({ length: SETTINGS_WRITERS }, (_, writer) => write(writer))]);

    // An acknowledged write survives a crash: write, get the 200, SIGKILL sqld, start it, read.
    const last = settingsWrite('final', 0);
    const acknowledged = await stack.api('/v1/settings', { method: 'PUT', body: JSON.stringify(last.body) });
    expect(acknowledged.status).toBe(200);
    await database.kill();
    result.kills += 1;
    await database.start();
    const after = (await (await stack.api('/v1/settings')).json()) as Record<string, unknown>;
    const afterMarker = markerOf(after);
    if (afterMarker === undefined) result.halfWritten += 1;
    if (afterMarker !== 'final') result.acknowledgedLost += 1;

    figures.sqldKills = result;
    expect(unclean.slice(0, 3)).toEqual([]);
    expect(result.kills).toBe(SQLD_KILLS + 1);
    expect(result.failedLoudly).toBeGreaterThanOrEqual(SQLD_KILLS * SETTINGS_WRITERS);
    expect(result).toMatchObject({ unclean: 0, halfWritten: 0, acknowledgedLost: 0 });
  });
});

describe('sentinel secrets', () => {
  it('never appear in a response body, a header or a log line, on every error path', { timeout: 90_000 }, async () => {
    const database = stack.database;
    if (!database) throw new Error('the suite needs the database');
    // No stored backups: each error path must end in its own error, not in a backup's answer.
    await stack.api('/v1/settings', { method: 'DELETE' });
    const presented = [sentinel(), sentinel()];
    const searched = [...stack.secretList(), ...presented];
    const responses: Array<{ path: string; status: number; text: string; sent: string }> = [];
    const check = async (path: string, init: RequestInit = {}, withKey = true): Promise<number> => {
      const response = withKey ? await stack.api(path, init) : await fetch(`${stack.url}${path}`, init);
      const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
      const sent = `${path}\n${JSON.stringify(init.headers ?? {})}\n${typeof init.body === 'string' ? init.body : ''}`;
      responses.push({ path, status: response.status, text: `${headers}\n\n${await response.text()}`, sent });
      return response.status;
    };
    const chat = (body: Record<string, unknown>): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });
    const hello = [{ role: 'user', content: 'hi' }];

    // The caller's key: missing, wrong (a sentinel of its own), in the wrong scheme.
    expect(await check('/v1/models', {}, false)).toBe(401);
    expect(await check('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${presented[0]}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'openai/gpt-4o', messages: hello }) }, false)).toBe(401);
    expect(await check('/v1/settings', { headers: { authorization: `Basic ${presented[1]}` } }, false)).toBe(401);

    // Providers that echo the key they were sent, in a 401 and in a 500, streamed and not.
    const echoes = {
      openai: { key: secrets.OPENAI_API_KEY, model: 'openai/gpt-4o-mini' },
      anthropic: { key: secrets.ANTHROPIC_API_KEY, model: 'anthropic/claude-sonnet-4-5' },
      groq: { key: secrets.GROQ_API_KEY, model: 'groq/llama-3.1-8b-instant' },
    } as const;
    for (const [provider, { key, model }] of Object.entries(echoes) as Array<[keyof typeof echoes, (typeof echoes)[keyof typeof echoes]]>) {
      const mock = stack.mocks.providers[provider];
      mock.reset();
      const echoBody = (status: number): unknown =>
        provider === 'anthropic'
          ? { type: 'error', error: { type: status === 401 ? 'authentication_error' : 'api_error', message: `invalid x-api-key: ${key}` } }
          : { error: { message: `Incorrect API key provided: ${key}. Authorization: Bearer ${key}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
      for (const stream of [false, true]) {
        mock.script([{ kind: 'status', status: 401, body: echoBody(401) }]);
        expect(await check('/v1/chat/completions', chat({ model, messages: hello, stream }))).toBeGreaterThanOrEqual(400);
        mock.setDefault({ kind: 'status', status: 500, body: echoBody(500) });
        expect(await check('/v1/chat/completions', chat({ model: `${model}-${stream ? 's' : 'j'}`, messages: hello, stream }))).toBeGreaterThanOrEqual(500);
        mock.reset();
      }
    }

    // Validation errors that carry a secret in the very field they reject.
    expect(await check('/v1/chat/completions', chat({ model: secrets.OPENAI_API_KEY, messages: hello }))).toBe(404);
    expect(await check('/v1/chat/completions', chat({ model: 'openai/gpt-4o', messages: hello, fallback_models: [secrets.GROQ_API_KEY] }))).toBe(400);
    expect(await check('/v1/chat/completions', chat({ model: 'openai/gpt-4o', messages: [] }))).toBe(400);
    expect(await check('/v1/chat/completions', { method: 'POST', body: `{"model": "${secrets.XAI_API_KEY}", ` })).toBe(400);
    expect(await check('/v1/settings', { method: 'PATCH', body: JSON.stringify({ default_online_model: secrets.ANTHROPIC_API_KEY }) })).toBe(400);
    expect(await check('/v1/settings', { method: 'PATCH', body: JSON.stringify({ [secrets.TURSO_AUTH_TOKEN]: 1 }) })).toBe(400);
    expect(await check(`/v1/${secrets.BRIDGE_TOKEN}`)).toBe(404);

    // The bridge's door: a wrong token, the right token in the query string, and a real bridge with a wrong token.
    // (fetch cannot send `Upgrade`; the route checks the credentials before it looks for one.)
    expect(await check('/bridge/connect', { headers: { authorization: `Bearer ${presented[0]}` } }, false)).toBe(401);
    expect(await check(`/bridge/connect?token=${secrets.BRIDGE_TOKEN}`, {}, false)).toBe(400);
    const refused = await stack.startBridge('mlx', { token: presented[1], waitConnected: false });
    await refused.waitForOutput('refused the token', SETTLE_BOUND_MS);
    expect(await within(refused.exited, SETTLE_BOUND_MS)).toMatchObject({ settled: true, value: 1 });

    // The database down: settings fail loudly, completions carry on with the env defaults.
    await database.kill();
    try {
      expect(await check('/v1/settings')).toBeGreaterThanOrEqual(500);
      expect(await check('/v1/settings', { method: 'PUT', body: JSON.stringify(settingsWrite('down', 0).body) })).toBeGreaterThanOrEqual(500);
      expect(await check('/v1/settings', { method: 'DELETE' })).toBeGreaterThanOrEqual(500);
      expect(await check('/v1/chat/completions', chat({ model: 'openai/gpt-4o-mini', messages: hello }))).toBe(200);
    } finally {
      await database.start();
    }
    expect(await check('/v1/settings')).toBe(200);

    // What leaked, with the secret masked, so the failure says where without repeating it.
    // A secret the caller itself put in that very request and got back is "reflected": still
    // wrong (known bug, pinned below), but no disclosure; anything else is a leak.
    const mask = (text: string): string => searched.reduce((masked, secret) => masked.replaceAll(secret, '<SECRET>'), text);
    const sentSecrets = new Set(responses.flatMap((response) => findSecrets(response.sent, searched)));
    let reflected = 0;
    const leakedIn: string[] = [];
    for (const response of responses) {
      const found = findSecrets(response.text, searched);
      if (found.length === 0) continue;
      if (found.every((secret) => response.sent.includes(secret))) reflected += 1;
      else leakedIn.push(mask(response.text.split('\n\n').at(-1) ?? ''));
    }
    const logs = stack.logs();
    const leakedLines: string[] = [];
    for (const line of logs.split('\n')) {
      const found = findSecrets(line, searched);
      if (found.length === 0) continue;
      // wrangler's own dev-server access log prints the URL path a caller chose: not the Worker's output.
      if (line.startsWith('[wrangler:') && found.every((secret) => sentSecrets.has(secret))) reflected += 1;
      else leakedLines.push(mask(line));
    }
    figures.secrets = { responsesChecked: responses.length, logsChecked: stack.logSources(), leaks: leakedIn.length + leakedLines.length, reflected };
    expect(leakedIn).toEqual([]);
    expect(leakedLines).toEqual([]);
    expect(responses.length).toBeGreaterThanOrEqual(25);
  });

  // Known bug (reported to the lead): the error renderer scrubs configured secrets from `message`
  // but not from `param` (functions/middleware/error-response.ts:23), and the 404 renderer does not
  // scrub at all (:52): a caller who sends a configured secret as a field name or in the path gets
  // it back verbatim. Flip to `it` when fixed.
  it.fails('does not echo a configured secret the caller put in a field name or the path', async () => {
    const fieldName = await stack.api('/v1/settings', { method: 'PATCH', body: JSON.stringify({ [secrets.TURSO_AUTH_TOKEN]: 1 }) });
    const path = await stack.api(`/v1/${secrets.BRIDGE_TOKEN}`);
    const bodies = `${await fieldName.text()}\n${await path.text()}`;
    expect(findSecrets(bodies, stack.secretList())).toEqual([]);
  });
});
