/**
 * Batches one request's content events into `delta` frames. Events produced in
 * the same turn of the event loop go out together; while the socket is backed
 * up (`bufferedAmount` high) they keep merging, so a slow link carries fewer,
 * bigger frames instead of an ever-growing send buffer. Merging is lossless:
 * adjacent text (or reasoning) pieces are concatenated, and tool-call argument
 * pieces of the same call are appended.
 */
import type { DeltaEvent } from '../../protocol/tunnel-frames.ts';

/** Characters per frame: even if JSON escaping made each one 6 bytes, a frame stays under 1 MiB. */
export const MAX_BATCH_CHARS = 128 * 1024;
/** How often to look again while the socket is backed up. */
export const BACKED_UP_RETRY_MS = 10;

export interface DeltaCoalescerOptions {
  send: (events: DeltaEvent[]) => void;
  /** True while the socket has too much unsent data. */
  isBackedUp: () => boolean;
  maxBatchChars?: number;
}

function eventChars(event: DeltaEvent): number {
  return event.type === 'tool-call-delta' ? event.arguments.length + (event.name?.length ?? 0) + (event.id?.length ?? 0) : event.text.length;
}

/** Splits text into pieces of at most `size` UTF-16 units without cutting a surrogate pair. */
function splitText(text: string, size: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

export class DeltaCoalescer {
  private pending: DeltaEvent[] = [];
  private pendingChars = 0;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly options: DeltaCoalescerOptions;
  private readonly maxChars: number;

  constructor(options: DeltaCoalescerOptions) {
    this.options = options;
    this.maxChars = options.maxBatchChars ?? MAX_BATCH_CHARS;
  }

  /** Queues one event; it is sent soon, merged with its neighbours. */
  push(event: DeltaEvent): void {
    for (const piece of this.split(event)) {
      this.merge(piece);
      this.pendingChars += eventChars(piece);
      if (this.pendingChars >= this.maxChars) this.flush();
    }
    if (this.pending.length > 0) this.schedule();
  }

  /** Sends whatever is queued now (before a progress, end or err frame, to keep order). */
  flush(): void {
    this.clearSchedule();
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    this.options.send(events);
  }

  /** Drops anything queued and stops the timers. */
  dispose(): void {
    this.clearSchedule();
    this.pending = [];
    this.pendingChars = 0;
  }

  private split(event: DeltaEvent): DeltaEvent[] {
    if (eventChars(event) <= this.maxChars) return [event];
    if (event.type === 'tool-call-delta') {
      return splitText(event.arguments, this.maxChars).map((part, index) =>
        index === 0 ? { ...event, arguments: part } : { type: 'tool-call-delta', index: event.index, arguments: part },
      );
    }
    return splitText(event.text, this.maxChars).map((text) => ({ type: event.type, text }));
  }

  private merge(event: DeltaEvent): void {
    const last = this.pending.at(-1);
    if (last?.type === 'text-delta' && event.type === 'text-delta') {
      last.text += event.text;
    } else if (last?.type === 'reasoning-delta' && event.type === 'reasoning-delta') {
      last.text += event.text;
    } else if (
      last?.type === 'tool-call-delta' &&
      event.type === 'tool-call-delta' &&
      last.index === event.index &&
      event.id === undefined &&
      event.name === undefined
    ) {
      last.arguments += event.arguments;
    } else {
      this.pending.push({ ...event });
    }
  }

  private schedule(): void {
    if (this.immediate !== undefined || this.timer !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.tick();
    });
  }

  private tick(): void {
    if (this.options.isBackedUp() && this.pendingChars < this.maxChars) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.tick();
      }, BACKED_UP_RETRY_MS);
      return;
    }
    this.flush();
  }

  private clearSchedule(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }
}
