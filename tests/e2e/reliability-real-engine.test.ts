/**
 * Reliability on the REAL mlx-lm: the tunnel's guarantees with the engine a
 * user runs (the tiny trained model through LOCAL_MODEL_PATHS), not the double.
 * - concurrent streams of two different trained answers: each arrives whole and
 *   exactly, none carries the other's text;
 * - the Python worker SIGKILLed mid-answer: the stream ends with an
 *   OpenAI-shaped error, never a clean end, and the bridge's next answer is whole;
 * - the bridge SIGKILLed mid-answer: the same, its worker goes with it, and a
 *   restarted bridge serves at once.
 * The kills are aimed at the first streamed token of the long answer (~200
 * tokens, hundreds of milliseconds of generation on the CPU backend left).
 * Figures: `realEngine`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupMembers, waitForEmptyGroup } from '../../scripts/process-group.ts';
import { answerCase, clientMessagesOf } from '../helpers/mlx-real-engine.ts';
import { recordFigures, within, type ReliabilityFigures } from './reliability-report.ts';
import { SETTLE_BOUND_MS } from './reliability-stack.ts';
import { TINY_CHAT_MODEL, type BridgeProcess } from './stack-bridge.ts';
import { startStack, type Stack } from './stack.ts';

const hello = answerCase('hello');
const count = answerCase('count');
const STREAMS = 12;
const KILLS = 3;
/** How long a Python worker may outlive its killed bridge before it counts as orphaned. */
const ORPHAN_BOUND_MS = 1_000;

const figures: ReliabilityFigures = {};
const realEngine = { streams: 0, lost: 0, crossed: 0, workerKills: 0, bridgeKills: 0, cleanErrors: 0, uncleanEnds: 0, servedAfterKill: 0, orphanWorkers: 0 };
let stack: Stack;
let bridge: BridgeProcess;

beforeAll(async () => {
  stack = await startStack({ database: false });
  bridge = await stack.startBridge('mlx', { engine: 'real' });
});

afterAll(async () => {
  await stack?.stop();
  figures.realEngine = realEngine;
  recordFigures('real-engine', figures);
});


/** The text of a stream, or the error that ended it; `killAtFirstToken` runs once, on the first content. */
async function streamed(answer: typeof hello, killAtFirstToken?: () => void): Promise<{ text: string; finished: boolean } | { error: unknown }> {
  try {
    const stream = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(answer), stream: true, max_tokens: 400 });
    let text = '';
    let finished = false;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content ?? '';
      if (content !== '' && text === '') killAtFirstToken?.();
      text += content;
      if (chunk.choices[0]?.finish_reason) finished = true;
    }
    return { text, finished };
  } catch (error) {
    return { error };
  }
}

/** The bridge's group minus the bridge: its Python worker. */
function workerPid(of: BridgeProcess): number {
  const leader = of.child.pid ?? 0;
  const worker = groupMembers(leader).find((pid) => pid !== leader);
  if (worker === undefined) throw new Error('the bridge has no Python worker running');
  return worker;
}

/** Counts how a killed stream ended: an OpenAI-shaped error is the only clean end. */
function countKilled(outcome: Awaited<ReturnType<typeof streamed>> | undefined): void {
  const clean = outcome !== undefined && 'error' in outcome && outcome.error instanceof OpenAI.APIError && !(outcome.error instanceof OpenAI.APIConnectionError);
  if (clean) realEngine.cleanErrors += 1;
  else realEngine.uncleanEnds += 1;
}

async function servedWhole(): Promise<boolean> {
  const answer = await stack.client.chat.completions.create({ model: TINY_CHAT_MODEL, messages: clientMessagesOf(hello) }).catch(() => undefined);
  return answer?.choices[0]?.message.content === hello.completion;
}

describe('reliability on the real mlx-lm', () => {
  it('serves concurrent streams of different answers whole, none crossed', async () => {
    const answers = Array.from({ length: STREAMS }, (_, index) => (index % 2 === 0 ? hello : count));
    const outcomes = await Promise.all(answers.map((answer) => streamed(answer)));
    for (const [index, outcome] of outcomes.entries()) {
      const own = answers[index]!.completion;
      const other = (answers[index] === hello ? count : hello).completion;
      realEngine.streams += 1;
      if ('error' in outcome || !outcome.finished || outcome.text !== own) realEngine.lost += 1;
      if (!('error' in outcome) && outcome.text !== own && other.startsWith(outcome.text.slice(0, 8))) realEngine.crossed += 1;
    }
    expect({ lost: realEngine.lost, crossed: realEngine.crossed }).toEqual({ lost: 0, crossed: 0 });
  });

  it('ends a stream whose Python worker is killed mid-answer with an error, and serves the next request whole', async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const outcome = await within(streamed(count, () => process.kill(workerPid(bridge), 'SIGKILL')), SETTLE_BOUND_MS);
      realEngine.workerKills += 1;
      countKilled(outcome.settled && 'value' in outcome ? outcome.value : undefined);
      if (await servedWhole()) realEngine.servedAfterKill += 1;
    }
    expect(realEngine).toMatchObject({ workerKills: KILLS, uncleanEnds: 0, servedAfterKill: KILLS });
  });

  it('ends a stream whose bridge is killed mid-answer with an error, takes the worker with it, and a restarted bridge serves', async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const leader = bridge.child.pid ?? 0;
      const outcome = await within(streamed(count, () => bridge.child.kill('SIGKILL')), SETTLE_BOUND_MS);
      realEngine.bridgeKills += 1;
      countKilled(outcome.settled && 'value' in outcome ? outcome.value : undefined);
      await bridge.exited;
      const orphans = await waitForEmptyGroup(leader, ORPHAN_BOUND_MS);
      realEngine.orphanWorkers += orphans.length;
      if (orphans.length > 0) await bridge.stop('SIGKILL');
      bridge = await stack.startBridge('mlx', { engine: 'real' });
      if (await servedWhole()) realEngine.servedAfterKill += 1;
    }
    expect(realEngine).toMatchObject({ bridgeKills: KILLS, cleanErrors: 2 * KILLS, uncleanEnds: 0, servedAfterKill: 2 * KILLS, orphanWorkers: 0 });
  });
});
