import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { defaultRuntimeDeps } from '../../../protocol/runtime-deps.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import { anthropicErrorBody } from './anthropic-error.ts';
import { messagesSseResponse } from './messages-sse-response.ts';

const metadata: AgentResult['metadata'] = {
  backend: 'local',
  provider: 'mlx',
  model_id: 'local/llama',
  latency_ms: 12,
  attempts: [{ provider: 'mlx', model_id: 'local/llama', status: 200, error_type: null, latency_ms: 12 }],
};

function respond(events: AsyncIterable<ChatEvent>, keepAliveMs?: number): Response {
  return messagesSseResponse(
    { metadata, events },
    {
      identity: { id: 'msg_test', model: 'local/llama' },
      headers: {},
      deps: defaultRuntimeDeps,
      errorBody: (error) => anthropicErrorBody(error, (text) => text.replaceAll('sk-secret-value', '[redacted]')),
      keepAliveMs,
    },
  );
}

function eventNames(text: string): string[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => block.slice(7, block.indexOf('\n')));
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the Messages stream response", () => {
  it('sends message_start and a ping once, then the text, whatever progress came before it', async () => {
    async function* events(): AsyncGenerator<ChatEvent> {
      yield { type: 'progress', phase: 'load' };
      yield { type: 'progress', phase: 'prefill', done: 1, total: 2 };
      yield { type: 'progress', phase: 'prefill', done: 2, total: 2 };
      yield { type: 'text-delta', text: 'Hi' };
      yield { type: 'finish', finishReason: 'stop' };
    }
    expect(eventNames(await respond(events()).text())).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('sends a ping event while the model is silent, without losing the event that follows', async () => {
    vi.useFakeTimers();
    let release: (() => void) | undefined;
    async function* slow(): AsyncGenerator<ChatEvent> {
      yield { type: 'text-delta', text: 'first' };
      await new Promise<void>((resolve) => (release = resolve));
      yield { type: 'text-delta', text: ' late' };
      yield { type: 'finish', finishReason: 'stop' };
    }
    const reader = respond(slow(), 15_000).body!.getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toContain('"text":"first"');
    const ping = reader.read();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(decoder.decode((await ping).value)).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    release?.();
    expect(decoder.decode((await reader.read()).value)).toContain('"text":" late"');
  });

  it('ends a failure after the first token with a scrubbed error event and no message_stop', async () => {
    async function* failing(): AsyncGenerator<ChatEvent> {
      yield { type: 'text-delta', text: 'Half' };
      throw new GatewayError({ status: 502, type: 'upstream_error', code: 'overloaded', message: 'anthropic: overloaded (key sk-secret-value)' });
    }
    const text = await respond(failing()).text();
    expect(eventNames(text)).not.toContain('message_stop');
    expect(text.trimEnd().split('\n').slice(-2)).toEqual([
      'event: error',
      'data: {"type":"error","error":{"type":"overloaded_error","message":"anthropic: overloaded (key [redacted])"}}',
    ]);
  });

  it('forwards native frames as they came, multi-line data kept multi-line', async () => {
    async function* native(): AsyncGenerator<ChatEvent> {
      yield { type: 'text-delta', text: 'x', native: [{ event: 'message_start', data: '{"type":"message_start"}' }, { event: 'future_event', data: 'line one\nline two' }] };
      yield { type: 'finish', finishReason: 'stop', native: [{ event: 'message_stop', data: '{"type":"message_stop"}' }] };
    }
    expect(await respond(native()).text()).toBe(
      'event: message_start\ndata: {"type":"message_start"}\n\nevent: future_event\ndata: line one\ndata: line two\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
  });
});
