/**
 * Server-sent events, both ways, per the WHATWG HTML "event stream" rules:
 * `event:`, multi-line `data:`, `id:`, `retry:`, comments, any of CRLF/CR/LF as
 * line ends, a leading BOM, and fields or UTF-8 sequences split across chunks.
 * Runtime-neutral (Workers and Node): only web streams and TextDecoder/Encoder.
 */

export interface SseEvent {
  /** The `event:` field; `message` when the event had none. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last event id seen so far in the stream (it carries over between events). */
  id: string;
  /** A `retry:` value (ms) seen since the previous event, if any. */
  retry?: number;
}

const LINE_END = /[\r\n]/g;
const DIGITS = /^[0-9]+$/;

/**
 * The line-level state machine, fed decoded text. `push` returns the events that
 * the text completed; an event cut off by the end of the stream is discarded,
 * as the spec requires (a truncated stream must not look like a complete event).
 * For a consumer that takes a whole network read's events at once
 * (functions/providers/shared/stream-upstream-chat.ts); `readSseEvents` yields them one by one.
 */
export function createSseDecoder(): { push(text: string): SseEvent[] } {
  let pending = '';
  // A CR ended the previous chunk: an LF starting the next one belongs to it.
  let skipLeadingLf = false;
  let eventType = '';
  let data = '';
  let hasData = false;
  let lastEventId = '';
  let retry: number | undefined;

  function processLine(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (hasData) {
        const event: SseEvent = { event: eventType || 'message', data, id: lastEventId };
        if (retry !== undefined) event.retry = retry;
        out.push(event);
        retry = undefined;
      }
      eventType = '';
      data = '';
      hasData = false;
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* ':' */) return; // a comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20 /* ' ' */) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        data = hasData ? `${data}\n${value}` : value;
        hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      case 'retry':
        if (DIGITS.test(value)) retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  return {
    push(text: string): SseEvent[] {
      const out: SseEvent[] = [];
      let input = text;
      if (skipLeadingLf && input.length > 0) {
        if (input.charCodeAt(0) === 0x0a) input = input.slice(1);
        skipLeadingLf = false;
      }
      let buffer = pending + input;
      let start = 0;
      LINE_END.lastIndex = 0;
      for (let match = LINE_END.exec(buffer); match !== null; match = LINE_END.exec(buffer)) {
        const end = match.index;
        processLine(buffer.slice(start, end), out);
        start = end + 1;
        if (buffer.charCodeAt(end) === 0x0d) {
          if (end + 1 === buffer.length) skipLeadingLf = true;
          else if (buffer.charCodeAt(end + 1) === 0x0a) start = end + 2;
          LINE_END.lastIndex = start;
        }
      }
      buffer = buffer.slice(start);
      pending = buffer;
      return out;
    },
  };
}

/**
 * The events of an event-stream body, in order. Stopping early (`break`,
 * `return()`, a thrown error) cancels the body, which releases the upstream
 * connection.
 */
export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const sse = createSseDecoder();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        for (const event of sse.push(decoder.decode())) yield event;
        return;
      }
      for (const event of sse.push(decoder.decode(value, { stream: true }))) yield event;
    }
  } finally {
    if (!finished) {
      // Fire and forget: a cancel can wait on the network, the caller must not.
      reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
  }
}

/** One `data:` event carrying `value` as JSON: `data: {...}\n\n`. */
export function encodeSseData(value: unknown): string {
  // JSON.stringify escapes CR and LF inside strings, so the event stays one line.
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** A named event: `event: <name>\ndata: <json>\n\n` (Anthropic's style). */
export function encodeSseEvent(event: string, value: unknown): string {
  return `event: ${event.replace(/[\r\n]/g, ' ')}\ndata: ${JSON.stringify(value)}\n\n`;
}

/** A received event as SSE text again, its data as it came (multi-line data kept multi-line): a passthrough's frames. */
export function encodeSseFrame(frame: Pick<SseEvent, 'event' | 'data'>): string {
  const data = frame.data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n');
  return `event: ${frame.event}\n${data}\n\n`;
}

/** A comment (`: text\n\n`), ignored by clients; every line of `text` stays a comment. */
export function encodeSseComment(text: string): string {
  return `${text
    .split(/\r\n|\r|\n/)
    .map((line) => `: ${line}`)
    .join('\n')}\n\n`;
}

/** The OpenAI stream terminator. */
export const SSE_DONE = 'data: [DONE]\n\n';
