/**
 * Batches one request's content events into `delta` frames, so that a model
 * producing a token per event-loop turn does not cost one WebSocket frame, one
 * NDJSON line and one SSE event per token at the gateway:
 * - events produced in the same turn of the event loop always go out together;
 * - a frame goes out at the end of the turn when the request has sent none for
 *   a whole window (`windowMs`, 5 ms): the first delta of a request, and every
 *   token of a model slower than 200 tokens/s, travel without added delay;
 * - otherwise the events gather until the window since the last frame is over,
 *   so a fast stream costs at most one frame per window;
 * - a batch that reaches `maxBatchChars` goes out at once;
 * - while the socket is backed up (`bufferedAmount` high) they keep merging, so
 *   a slow link carries fewer, bigger frames instead of an ever-growing buffer.
 * Merging is lossless: adjacent text (or reasoning) pieces are concatenated,
 * and tool-call argument pieces of the same call are appended.
 */
import type { DeltaEvent } from '../../protocol/chat-events.ts';
import { appendDeltaEvent } from '../../protocol/merge-delta-events.ts';

/** Characters per frame: even if JSON escaping made each one 6 bytes, a frame stays under 1 MiB. */
export const MAX_BATCH_CHARS = 128 * 1024;
/** At most one frame per request per this many milliseconds while tokens come faster. */
export const COALESCE_WINDOW_MS = 5;
/** How often to look again while the socket is backed up. */
export const BACKED_UP_RETRY_MS = 10;

export interface DeltaCoalescerOptions {
  send: (events: DeltaEvent[]) => void;
  /** True while the socket has too much unsent data. */
  isBackedUp: () => boolean;
  maxBatchChars?: number;
  /** The gathering window after a frame; 0 sends at the end of every turn. */
  windowMs?: number;
  /** A monotonic clock in milliseconds (tests inject a fake one). */
  now?: () => number;
}

function eventChars(event: DeltaEvent): number {
  if (event.type === 'tool-call-delta') return event.arguments.length + (event.name?.length ?? 0) + (event.id?.length ?? 0);
  // Log probabilities weigh on the frame's size far more than their text.
  return event.text.length + (event.type === 'text-delta' && event.logprobs ? JSON.stringify(event.logprobs).length : 0);
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
  /** When the last frame went out; undefined before the first. */
  private lastSentAt: number | undefined;
  private readonly options: DeltaCoalescerOptions;
  private readonly maxChars: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: DeltaCoalescerOptions) {
    this.options = options;
    this.maxChars = options.maxBatchChars ?? MAX_BATCH_CHARS;
    this.windowMs = options.windowMs ?? COALESCE_WINDOW_MS;
    this.now = options.now ?? (() => performance.now());
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
    this.lastSentAt = this.now();
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
    if (event.type === 'text-delta' && event.logprobs) return [event]; // one token's worth: kept whole with its tokens
    return splitText(event.text, this.maxChars).map((text) => ({ type: event.type, text }));
  }

  private merge(event: DeltaEvent): void {
    appendDeltaEvent(this.pending, event);
  }

  private schedule(): void {
    if (this.immediate !== undefined || this.timer !== undefined) return;
    const waitMs = this.lastSentAt === undefined ? 0 : this.lastSentAt + this.windowMs - this.now();
    if (waitMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.tick();
      }, waitMs);
      return;
    }
    // Quiet for a whole window: only this turn's events are gathered.
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
