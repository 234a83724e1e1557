/**
 * What every reliability file shares: the whole stack under load and faults
 * (sqld, the Worker under wrangler dev, the real bridge CLI and its Python
 * worker over the `mlx_lm` double, loopback providers, an echo upstream serving
 * xAI), sentinel secrets (`sk-SENTINEL-<uuid>`) in every key and token, the
 * bounds, and the few polls a scenario waits on. Each file counts what it
 * observed into its figures, asserts on those counts, and hands them to
 * `recordFigures` when it ends (reliability-report.ts, docs/testing.md).
 *
 *   const suite = reliabilitySuite('secrets');
 *   it('…', async () => { const { stack } = suite; …; suite.figures.secrets = {…}; });
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll } from 'vitest';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.ts';
import { recordFigures, type ReliabilityConcern, type ReliabilityFigures } from './reliability-report.ts';
import { sentinelSecrets, type StackSecrets } from './stack-secrets.ts';
import { startStack, type Stack } from './stack.ts';

/** Anthropic's per-attempt deadline in this stack: what releases an upstream call nobody waits for any more. */
export const ANTHROPIC_ATTEMPT_TIMEOUT_MS = 3_000;
/** How long an in-flight request may take to end after its bridge died, or a leftover to drain, before it counts as hung. */
export const SETTLE_BOUND_MS = 15_000;

export interface ReliabilitySuite {
  readonly secrets: StackSecrets;
  /** Started before the first test of the file. */
  readonly stack: Stack;
  readonly echo: EchoUpstream;
  /** What this file observed; recorded when it ends. */
  readonly figures: ReliabilityFigures;
}

/** Starts the stack for one concern's file and records its figures when the file ends. */
export function reliabilitySuite(concern: ReliabilityConcern): ReliabilitySuite {
  const secrets = sentinelSecrets();
  const figures: ReliabilityFigures = {};
  let stack: Stack | undefined;
  let echo: EchoUpstream | undefined;
  beforeAll(async () => {
    echo = await startEchoUpstream(secrets.XAI_API_KEY);
    // xAI is served by the echo upstream: it knows exactly which of its responses are still open.
    stack = await startStack({ secrets, endpoints: { xai: { base_url: echo.baseUrl }, anthropic: { timeout_ms: ANTHROPIC_ATTEMPT_TIMEOUT_MS } } });
  });
  afterAll(async () => {
    await stack?.stop();
    await echo?.close();
    recordFigures(concern, figures);
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} is not started yet (use it inside a test)`);
    return value;
  };
  return {
    secrets,
    figures,
    get stack() {
      return started(stack, 'stack');
    },
    get echo() {
      return started(echo, 'echo upstream');
    },
  };
}

/** One user message. */
export const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

/** Polls GET /v1/bridge (a condition, not a fixed wait) until `predicate` holds on `in_flight` or the bound passes. */
export async function waitForBridgeInFlight(stack: Stack, predicate: (inFlight: number) => boolean, boundMs: number): Promise<number> {
  const inFlight = async (): Promise<number> => {
    const status = (await (await stack.api('/v1/bridge')).json()) as { in_flight?: number };
    return status.in_flight ?? -1;
  };
  const deadline = Date.now() + boundMs;
  let current = await inFlight();
  while (!predicate(current) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    current = await inFlight();
  }
  return current;
}

/** Waits for a condition the scenario itself moves forward; fails loudly instead of waiting forever. */
export async function until(condition: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Pacing for loops that hit a dead database: a failure comes back at once. */
export const breath = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));
