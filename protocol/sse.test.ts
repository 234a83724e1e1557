import { describe, expect, it } from 'vitest';
import {
  encodeSseComment,
  encodeSseData,
  encodeSseEvent,
  readSseEvents,
  SSE_DONE,
  type SseEvent,
} from './sse.ts';

const encoder = new TextEncoder();

function bodyOf(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function parseAll(chunks: Array<string | Uint8Array>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSseEvents(bodyOf(chunks))) events.push(event);
  return events;
}

/** Every way to cut `text` in two, as bytes (so UTF-8 sequences get split too). */
function everySplit(text: string): Uint8Array[][] {
  const bytes = encoder.encode(text);
  const splits: Uint8Array[][] = [];
  for (let at = 0; at <= bytes.length; at++) splits.push([bytes.slice(0, at), bytes.slice(at)]);
  return splits;
}

describe('SSE parser', () => {
  it('reads data events with and without a space after the colon', async () => {
    expect(await parseAll(['data: one\n\ndata:two\n\n'])).toEqual([
      { event: 'message', data: 'one', id: '' },
      { event: 'message', data: 'two', id: '' },
    ]);
  });

  it('keeps the event name and joins multi-line data with newlines', async () => {
    expect(await parseAll(['event: content_block_delta\ndata: {"a":\ndata:  1}\n\n'])).toEqual([
      { event: 'content_block_delta', data: '{"a":\n 1}', id: '' },
    ]);
  });

  it('treats CRLF, CR and LF alike, even mixed in one stream', async () => {
    expect(await parseAll(['data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\n'])).toEqual(
      ['a', 'b', 'c', 'd'].map((data) => ({ event: 'message', data, id: '' })),
    );
  });

  it('does not take a CRLF split across two chunks for two line ends', async () => {
    expect(await parseAll(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([{ event: 'message', data: 'a\nb', id: '' }]);
  });

  it('ignores comments and unknown fields', async () => {
    expect(await parseAll([': keep-alive\n\n:ping\ndata: x\nfoo: bar\n\n'])).toEqual([{ event: 'message', data: 'x', id: '' }]);
  });

  it('does not dispatch an event that has no data', async () => {
    expect(await parseAll(['event: ping\n\nid: 7\n\ndata: after\n\n'])).toEqual([{ event: 'message', data: 'after', id: '7' }]);
  });

  it('carries the last event id over to later events and ignores ids with NUL', async () => {
    expect(await parseAll(['id: 1\ndata: a\n\ndata: b\n\nid: bad\0id\ndata: c\n\nid\ndata: d\n\n'])).toEqual([
      { event: 'message', data: 'a', id: '1' },
      { event: 'message', data: 'b', id: '1' },
      { event: 'message', data: 'c', id: '1' },
      { event: 'message', data: 'd', id: '' },
    ]);
  });

  it('reports a numeric retry and ignores a malformed one', async () => {
    expect(await parseAll(['retry: 3000\ndata: a\n\nretry: 12x\ndata: b\n\n'])).toEqual([
      { event: 'message', data: 'a', id: '', retry: 3000 },
      { event: 'message', data: 'b', id: '' },
    ]);
  });

  it('takes a field with no colon as the field name with an empty value', async () => {
    expect(await parseAll(['data\ndata\n\n'])).toEqual([{ event: 'message', data: '\n', id: '' }]);
  });

  it('strips a leading byte order mark but keeps one later in the data', async () => {
    expect(await parseAll(['\uFEFFdata: a\uFEFF\n\n'])).toEqual([{ event: 'message', data: 'a\uFEFF', id: '' }]);
  });

  it('discards an event cut off by the end of the stream', async () => {
    expect(await parseAll(['data: complete\n\ndata: cut off'])).toEqual([{ event: 'message', data: 'complete', id: '' }]);
    expect(await parseAll(['data: no blank line\n'])).toEqual([]);
  });

  it('gives the same events however the bytes are split, UTF-8 sequences included', async () => {
    const text = '\uFEFFevent: delta\r\ndata: {"text":"héllo 👋 世界"}\r\n\r\n: c\rdata: two\r\rid: 9\ndata: ✓\n\n';
    const expected = await parseAll([text]);
    expect(expected).toHaveLength(3);
    for (const chunks of everySplit(text)) {
      expect(await parseAll(chunks)).toEqual(expected);
    }
    const byteByByte = Array.from(encoder.encode(text), (byte) => Uint8Array.of(byte));
    expect(await parseAll(byteByByte)).toEqual(expected);
  });

  it('cancels the body when the consumer stops early', async () => {
    let cancelled: unknown = 'not cancelled';
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: first\n\ndata: second\n\n'));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    for await (const event of readSseEvents(body)) {
      expect(event.data).toBe('first');
      break;
    }
    expect(cancelled).toBeUndefined();
  });

  it('passes a read error of the body on to the consumer', async () => {
    const failure = new Error('connection reset');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: first\n\n'));
      },
      pull(controller) {
        controller.error(failure);
      },
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of readSseEvents(body)) seen.push(event.data);
      })(),
    ).rejects.toBe(failure);
    expect(seen).toEqual(['first']);
  });
});

describe('SSE encoders', () => {
  it('writes one data event that the parser reads back, newlines in strings included', async () => {
    const value = { text: 'line one\nline two\r\n', n: 1 };
    const wire = encodeSseData(value);
    expect(wire).toBe(`data: ${JSON.stringify(value)}\n\n`);
    const [event] = await parseAll([wire]);
    expect(JSON.parse(event?.data ?? '')).toEqual(value);
  });

  it('writes named events', async () => {
    const wire = encodeSseEvent('message_stop', { type: 'message_stop' });
    expect(wire).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    expect(await parseAll([wire])).toEqual([{ event: 'message_stop', data: '{"type":"message_stop"}', id: '' }]);
  });

  it('keeps every line of a comment a comment, so a newline cannot inject an event', async () => {
    const wire = encodeSseComment('loading\ndata: injected\r\nstill loading');
    expect(wire).toBe(': loading\n: data: injected\n: still loading\n\n');
    expect(await parseAll([wire, SSE_DONE])).toEqual([{ event: 'message', data: '[DONE]', id: '' }]);
  });

  it('ends OpenAI streams with the [DONE] sentinel', () => {
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
  });
});
