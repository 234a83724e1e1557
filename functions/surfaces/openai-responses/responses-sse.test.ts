import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { readSseEvents } from '../../../protocol/sse.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import { createResponseEncoder } from './response-event-encoder.ts';
import { responseShell, type ResponseObject } from './response-object.ts';
import { responsesSse, type ResponsesSseOptions } from './responses-sse.ts';

const metadata = { backend: 'local' as const, provider: 'mlx', model_id: 'local/m', latency_ms: 1, attempts: [] };

function resultOf(events: () => AsyncGenerator<ChatEvent>): AgentResult {
  return { metadata, events: { [Symbol.asyncIterator]: events } };
}

async function stream(result: AgentResult, options: Partial<ResponsesSseOptions> = {}): Promise<{ types: string[]; comments: number; text: string }> {
  const key = 'abcdef0123456789';
  const encoder = createResponseEncoder(responseShell({ input: 'hi' }, { id: `resp_${key}`, createdAt: 1, model: 'local/m' }), key);
  const response = responsesSse(result, encoder, { headers: {}, deps: defaultRuntimeDeps, errorBody: (error) => error.toBody(), ...options });
  const text = await response.clone().text();
  const types: string[] = [];
  for await (const event of readSseEvents(response.body!)) types.push(event.event);
  return { types, comments: text.split('\n').filter((line) => line.startsWith(': keep-alive')).length, text };
}

describe('the Responses event stream', () => {
  it('reads on past progress events instead of stalling, and ends with response.completed', async () => {
    const { types } = await stream(
      resultOf(async function* () {
        yield { type: 'progress', phase: 'load' };
        yield { type: 'progress', phase: 'prefill', done: 1, total: 1 };
        yield { type: 'text-delta', text: 'Hi' };
        yield { type: 'finish', finishReason: 'stop' };
      }),
    );
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('sends a keep-alive comment while the model is silent, and every event once', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let ticks = 0;
    // The keep-alive timer fires at once, twice; then the model speaks.
    const deps: RuntimeDeps = {
      ...defaultRuntimeDeps,
      sleep: (_ms, signal) =>
        new Promise((resolve, reject) => {
          ticks += 1;
          if (ticks === 2) setTimeout(open, 0);
          if (ticks <= 2) return resolve();
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    };
    const { types, comments } = await stream(
      resultOf(async function* () {
        await gate;
        yield { type: 'text-delta', text: 'late' };
        yield { type: 'finish', finishReason: 'stop' };
      }),
      { deps },
    );
    expect(comments).toBeGreaterThanOrEqual(1);
    expect(types.filter((type) => type === 'response.output_text.delta')).toHaveLength(1);
    expect(types.at(-1)).toBe('response.completed');
  });

  it('stores before the terminal event, and a store that fails turns it into response.failed', async () => {
    const seen: ResponseObject[] = [];
    const ok = await stream(
      resultOf(async function* () {
        yield { type: 'text-delta', text: 'kept' };
        yield { type: 'finish', finishReason: 'stop' };
      }),
      { beforeEnd: async (response) => void seen.push(structuredClone(response)) },
    );
    expect(ok.types.at(-1)).toBe('response.completed');
    expect(seen).toMatchObject([{ status: 'completed', output: [{ content: [{ text: 'kept' }] }] }]);

    const failed = await stream(
      resultOf(async function* () {
        yield { type: 'text-delta', text: 'lost' };
        yield { type: 'finish', finishReason: 'stop' };
      }),
      { beforeEnd: async () => Promise.reject(new GatewayError({ status: 503, type: 'service_unavailable', code: 'database_unavailable', message: 'down' })) },
    );
    expect(failed.types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(failed.types).not.toContain('response.completed');
  });

  it('a model stream that ends without a finish is a failure, not a completed response', async () => {
    const { types } = await stream(
      resultOf(async function* () {
        yield { type: 'text-delta', text: 'half' };
      }),
    );
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
  });
});
