/**
 * Reliability: the bridge daemon SIGKILLed (as a crash would) while it holds
 * requests, ten times over. Every in-flight request must end with a clean,
 * OpenAI-shaped error, never a hang; the restarted bridge must serve at once
 * (the crash must not open the model's breaker); and the Python worker must
 * go with its bridge. Figures: `bridgeKills`.
 *
 * Why the double: three requests per kill, ten kills, must all be in flight (held by the bridge)
 * when the SIGKILL lands, so generation is paced (MLX_DOUBLE_TOKEN_DELAY_MS) and serves a model id
 * per kill from one folder (a fresh breaker each). The real tiny model finishes a long answer in
 * ~0.4 s; kills aimed at its first token are in reliability-real-engine.test.ts.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { groupMembers, waitForEmptyGroup } from '../../scripts/process-group.ts';
import { within } from './reliability-report.ts';
import { ask, reliabilitySuite, SETTLE_BOUND_MS, waitForBridgeInFlight } from './reliability-stack.ts';
import { readStream } from './stack-answers.ts';
import { localModelPaths, MLX_MODEL, MLX_MODEL_ID, type BridgeProcess } from './stack-bridge.ts';

const BRIDGE_KILLS = 10;
const IN_FLIGHT_PER_KILL = 3;
/** How long a Python worker may outlive its killed bridge before it counts as orphaned. */
const ORPHAN_BOUND_MS = 1_000;

const suite = reliabilitySuite('bridge-kills');
const { figures } = suite;

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

/**
 * The bridge's group once it holds its Python worker too: the bridge acks (and counts in flight)
 * requests before the worker it starts for them has spawned, so this waits, within the bound.
 */
async function membersWithWorker(bridge: BridgeProcess): Promise<number> {
  const deadline = Date.now() + SETTLE_BOUND_MS;
  let members = groupMembers(bridgeGroup(bridge)).length;
  while (members < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    members = groupMembers(bridgeGroup(bridge)).length;
  }
  return members;
}

/** The bridge's process group (it leads its own group). */
function bridgeGroup(bridge: BridgeProcess): number {
  if (bridge.child.pid === undefined) throw new Error('the bridge process has no pid');
  return bridge.child.pid;
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
        ? suite.stack.client.chat.completions.create({ model, messages: ask(longText) })
        : suite.stack.client.chat.completions.create({ model, messages: ask(longText), stream: true }).then(readStream),
    );
    // Observed later through `within`; never left unhandled if the scenario fails first.
    for (const request of inFlight) request.catch(() => undefined);
    const reached = await waitForBridgeInFlight(suite.stack, (n) => n >= count, SETTLE_BOUND_MS);
    expect(reached, 'requests held by the bridge before the kill').toBeGreaterThanOrEqual(count);
    return inFlight;
  }

  // Orphaned workers are counted in the figures too: a worker that outlives its bridge holds the model's memory.
  it('ends every in-flight request with a clean error, never a hang, and serves again after each restart', { timeout: 120_000 }, async () => {
    const result = { kills: 0, cleanErrors: 0, uncleanEnds: 0, hung: 0, servedAfterRestart: 0, breakerRefusedAfterRestart: 0, otherModelServedAfterRestart: 0, orphanWorkers: 0 };
    const unclean: string[] = [];
    let bridge: BridgeProcess = await suite.stack.startBridge('mlx', { env: bridgeEnv });
    for (const [kill, modelId] of killModels.entries()) {
      const model = `local/${modelId}`;
      const inFlight = await requestsInFlight(model, IN_FLIGHT_PER_KILL);

      // SIGKILL to the daemon alone, as a crash would: its Python worker must notice and go too.
      // (The group holds both while it serves, or "no orphans" below would prove nothing.)
      expect(await membersWithWorker(bridge), 'the bridge and its Python worker').toBeGreaterThanOrEqual(2);
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
      const orphans = await waitForEmptyGroup(bridgeGroup(bridge), ORPHAN_BOUND_MS);
      result.orphanWorkers += orphans.length;
      if (orphans.length > 0) await bridge.stop('SIGKILL');

      bridge = await suite.stack.startBridge('mlx', { env: bridgeEnv });
      const same = await suite.stack.client.chat.completions.create({ model, messages: ask(`after kill ${kill}`) }).catch((error: unknown) => error);
      if (same instanceof OpenAI.APIError && same.code === 'circuit_open') result.breakerRefusedAfterRestart += 1;
      else if (!(same instanceof Error) && (same as OpenAI.ChatCompletion).choices[0]?.message.content === `after kill ${kill}`) result.servedAfterRestart += 1;
      const other = await suite.stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask(`other model ${kill}`) }).catch(() => undefined);
      if (other?.choices[0]?.message.content === `other model ${kill}`) result.otherModelServedAfterRestart += 1;
    }
    await bridge.stop('SIGTERM');
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
      orphanWorkers: 0,
    });
  });

  // A crash's `bridge_offline` errors say nothing about the model's health: they must not open its
  // circuit breaker, or the model would answer 503 circuit_open for 30 s after the bridge is back.
  it('serves the crashed model as soon as the bridge is back', async () => {
    let bridge = await suite.stack.startBridge('mlx', { env: bridgeEnv });
    const inFlight = await requestsInFlight('local/after-crash', IN_FLIGHT_PER_KILL);
    bridge.child.kill('SIGKILL');
    await Promise.all(inFlight.map((request) => within(request, SETTLE_BOUND_MS)));
    await bridge.stop('SIGKILL');
    bridge = await suite.stack.startBridge('mlx', { env: bridgeEnv });
    try {
      const answer = await suite.stack.client.chat.completions.create({ model: 'local/after-crash', messages: ask('back again') });
      expect(answer.choices[0]?.message.content).toBe('back again');
    } finally {
      await bridge.stop('SIGTERM');
    }
  });

  // Was a known bug: the worker's next write to the dead bridge raised BrokenPipeError, which killed
  // its generation and heartbeat threads, so the shutdown queued on stdin EOF was never served and the
  // worker lived on with the model's memory. tests/unit/runners/mlx-worker-lifeline.test.ts pins each way out.
  it('takes its Python worker with it when the bridge process is killed mid-generation', async () => {
    const bridge = await suite.stack.startBridge('mlx', { env: bridgeEnv });
    const inFlight = await requestsInFlight(MLX_MODEL, 1);
    expect(await membersWithWorker(bridge), 'the bridge and its Python worker').toBeGreaterThanOrEqual(2);
    bridge.child.kill('SIGKILL');
    await Promise.all(inFlight.map((request) => within(request, SETTLE_BOUND_MS)));
    const left = await waitForEmptyGroup(bridgeGroup(bridge), 5_000);
    await bridge.stop('SIGKILL');
    expect(left).toEqual([]);
  });
});
