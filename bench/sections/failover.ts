/**
 * Section 2, fail-over: time to the first token from the backup when the
 * primary refuses connections (its base URL is a closed loopback port).
 * - First time: the breaker is closed, so the gateway tries the primary, whose
 *   connection is refused, and goes to the backup at once (a refused
 *   connection is not retried while a backup remains: one attempt on the
 *   primary, no backoff). Each sample uses a fresh primary model name, because
 *   the breaker is per `provider/model`.
 * - Breaker open: after three failed requests the primary is skipped at no cost;
 *   this is measured interleaved with a request straight to the backup, and the
 *   difference is what an open breaker adds.
 */
import type { Agent } from 'node:http';
import { postJson, postStream } from '../lib/http-client.ts';
import { interleaved, printTable, summarize, type InterleavedOptions, type Summary } from '../lib/stats.ts';

export interface FailoverSetup {
  name: string;
  /** The gateway's chat completions URL. */
  url: string;
  headers: Record<string, string>;
  /** A model whose provider points at a closed port, without its model part: `xai/`. */
  refusingPrefix: string;
  /** The backup, served by the upstream: `groq/bench-model`. */
  backupModel: string;
}

export interface FailoverResult {
  firstTime: Summary;
  /** Upstream attempts (x-agent-attempts) of the first-time requests. */
  firstTimeAttempts: number[];
  requestsToOpen: number;
  openBreaker: Summary;
  straightToBackup: Summary;
  /** p50 of open breaker minus p50 straight to the backup. */
  addedByOpenBreakerP50: number;
}

const MESSAGES = [{ role: 'user', content: 'Say hello.' }];
const BREAKER_OPEN_BUDGET_MS = 20_000; // the breaker stays open 30 s: measure well inside that

async function streamVia(setup: FailoverSetup, model: string, fallback: string[] | undefined, agent: Agent): Promise<{ ttftMs: number; attempts: number }> {
  const body = { model, messages: MESSAGES, stream: true, ...(fallback ? { fallback_models: fallback } : {}) };
  const result = await postStream(setup.url, body, setup.headers, agent);
  const servedBy = result.headers['x-agent-model'];
  if (result.status !== 200 || !result.done || servedBy !== setup.backupModel) {
    throw new Error(`${setup.name}: ${model} was not served by ${setup.backupModel} (status ${result.status}, served by ${String(servedBy)}): ${result.error?.slice(0, 300) ?? ''}`);
  }
  return { ttftMs: result.ttftMs, attempts: Number(result.headers['x-agent-attempts'] ?? Number.NaN) };
}

/** Non-streaming requests until the body's attempts show the primary skipped as `circuit_open`. */
async function openBreaker(setup: FailoverSetup, primary: string, agent: Agent): Promise<number> {
  for (let request = 1; request <= 6; request++) {
    const result = await postJson(setup.url, { model: primary, messages: MESSAGES, fallback_models: [setup.backupModel] }, setup.headers, agent);
    if (result.status !== 200) throw new Error(`${setup.name}: fail-over request answered ${result.status}: ${result.body.slice(0, 300)}`);
    if (result.body.includes('"circuit_open"')) return request;
  }
  throw new Error(`${setup.name}: the breaker did not open after 6 failed requests to ${primary}`);
}

/** Runs both phases on one gateway. */
export async function measureFailover(setup: FailoverSetup, agent: Agent, firstTimeSamples: number, options: InterleavedOptions): Promise<FailoverResult> {
  const run = Date.now().toString(36);
  const first: number[] = [];
  const firstAttempts: number[] = [];
  for (let sample = 0; sample < firstTimeSamples; sample++) {
    const { ttftMs, attempts } = await streamVia(setup, `${setup.refusingPrefix}first-${run}-${sample}`, [setup.backupModel], agent);
    first.push(ttftMs);
    firstAttempts.push(attempts);
  }

  const primary = `${setup.refusingPrefix}primary-${run}`;
  const requestsToOpen = await openBreaker(setup, primary, agent);
  const samples = await interleaved(
    [
      {
        name: 'breaker open (primary skipped)',
        run: async () => {
          const { ttftMs, attempts } = await streamVia(setup, primary, [setup.backupModel], agent);
          // One upstream attempt means the primary was skipped: no connection was tried.
          if (attempts !== 1) throw new Error(`${setup.name}: the breaker closed during the measurement (${attempts} attempts)`);
          return ttftMs;
        },
      },
      { name: 'straight to the backup', run: async () => (await streamVia(setup, setup.backupModel, undefined, agent)).ttftMs },
    ],
    { ...options, budgetMs: Math.min(options.budgetMs ?? BREAKER_OPEN_BUDGET_MS, BREAKER_OPEN_BUDGET_MS) },
  );
  const openSummary = summarize(samples.get('breaker open (primary skipped)') ?? []);
  const straight = summarize(samples.get('straight to the backup') ?? []);
  const firstSummary = summarize(first);
  console.log(`\nFail-over TTFT, ${setup.name} (primary refuses connections)`);
  console.log(`  first time (breaker closed: refused, then the backup at once): p50 ${firstSummary.p50.toFixed(2)} ms, max ${firstSummary.max.toFixed(2)} ms over ${first.length}; attempts ${firstAttempts.join(', ')}`);
  printTable(`  breaker open after ${requestsToOpen} failed requests:`, [
    { name: 'straight to the backup', summary: straight },
    { name: 'breaker open (primary skipped)', summary: openSummary },
  ]);
  return {
    firstTime: firstSummary,
    firstTimeAttempts: firstAttempts,
    requestsToOpen,
    openBreaker: openSummary,
    straightToBackup: straight,
    addedByOpenBreakerP50: openSummary.p50 - straight.p50,
  };
}
