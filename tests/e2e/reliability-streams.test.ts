/**
 * Reliability: 100 concurrent streams through the gateway (three scripted
 * providers and the echo upstream) and 100 through the tunnel (the real bridge
 * and its Python worker). Every stream must get exactly what its own upstream
 * sent: nothing lost, nothing crossed. Figures: `gateway`, `tunnel`.
 *
 * Why the double: it echoes each stream's own prompt, so a crossed or lost piece shows; the tiny
 * model gives every stream the same answer, and one generation at a time on a CPU would not
 * carry 100 concurrent streams in the suite's budget.
 */
import { describe, expect, it } from 'vitest';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import type { MockStream } from '../helpers/mock-provider-types.ts';
import { echoOf } from './echo-upstream.ts';
import type { StreamFigures } from './reliability-report.ts';
import { ask, reliabilitySuite, SETTLE_BOUND_MS, waitForBridgeInFlight } from './reliability-stack.ts';
import { readStream } from './stack-answers.ts';
import { MLX_MODEL } from './stack-bridge.ts';

const CONCURRENT_STREAMS = 100;
const MARKER = /\bm-\d+-[0-9a-f]{8}\b/;

const suite = reliabilitySuite('streams');
const { figures } = suite;

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
      suite.stack.mocks.providers[provider].reset();
      suite.stack.mocks.providers[provider].script(scripts.get(provider) ?? []);
    }
    const models: Record<OnlineProvider, string> = { openai: 'openai/gpt-4o-mini', anthropic: 'anthropic/claude-sonnet-4-5', groq: 'groq/llama-3.1-8b-instant', xai: 'xai/grok-4' };

    const outcomes = await Promise.all(
      requests.map(async (request) => {
        try {
          const stream = await suite.stack.client.chat.completions.create({ model: models[request.provider], messages: ask(request.content), stream: true });
          return { request, streamed: await readStream(stream) };
        } catch (error) {
          return { request, error };
        }
      }),
    );

    // The mock takes its scripted behaviours in arrival order: call k got script k.
    for (const provider of scripted) {
      const calls = suite.stack.mocks.providers[provider].calls();
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
    const bridge = await suite.stack.startBridge('mlx', { env: { BRIDGE_MAX_CONCURRENT: '8', BRIDGE_MAX_QUEUE: '200' } });
    const requests = Array.from({ length: CONCURRENT_STREAMS }, (_, index) => {
      const marker = `m-${index}-${crypto.randomUUID().slice(0, 8)}`;
      return { marker, content: `${marker} through the tunnel ${index}` };
    });
    const outcomes = await Promise.all(
      requests.map(async (request) => {
        try {
          return { request, streamed: await readStream(await suite.stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask(request.content), stream: true })) };
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
    expect(await waitForBridgeInFlight(suite.stack, (n) => n === 0, SETTLE_BOUND_MS)).toBe(0);
    await bridge.stop('SIGTERM');
  });
});
