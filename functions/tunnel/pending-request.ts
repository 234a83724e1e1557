/**
 * One chat request in flight through the tunnel, as the Durable Object holds it:
 * the NDJSON stream handed back to the Worker, the bridge socket it went out on,
 * and the delta sequence it expects next. Every way a request can end (finish,
 * error, client cancel, bridge gone) goes through `close`, exactly once.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { TunnelErrorInfo } from '../../protocol/tunnel-errors.ts';
import { encodeStreamLine, type TunnelStreamLine } from './tunnel-stream-lines.ts';

/** Bytes a slow client may leave unread before the request is cut off. */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

export interface PendingRequestOptions {
  id: string;
  /** The `seq` of the bridge socket the `req` frame went out on. */
  socketSeq: number;
  /** Called when the reader cancels the stream (the client went away). */
  onCancel: (request: PendingRequest) => void;
  /** Called when the reader falls too far behind; the request is then failed. */
  onOverflow: (request: PendingRequest) => void;
}

export class PendingRequest {
  readonly id: string;
  readonly socketSeq: number;
  readonly stream: ReadableStream<Uint8Array>;
  /** The `seq` the next `delta` frame must carry. */
  nextSeq = 0;
  /** True once any content event went to the reader (then errors arrive mid-stream). */
  sentContent = false;
  /** True once the bridge sent any frame for this request (its `ack`, usually): it has the request. */
  acknowledged = false;
  private runner: string | undefined;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private overflowed = false;
  private readonly onOverflow: (request: PendingRequest) => void;

  constructor(options: PendingRequestOptions) {
    this.id = options.id;
    this.socketSeq = options.socketSeq;
    this.onOverflow = options.onOverflow;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => {
          if (this.closed) return;
          this.closed = true;
          options.onCancel(this);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Names the runner serving the request, once (and again if the bridge says otherwise). */
  announceRunner(runner: string | undefined): void {
    if (runner === undefined || runner === this.runner) return;
    this.runner = runner;
    this.write({ t: 'meta', requestId: this.id, runner });
  }

  /** Passes events on to the reader. */
  emit(events: ChatEvent[]): void {
    if (events.length === 0) return;
    if (events.some((event) => event.type !== 'progress')) this.sentContent = true;
    this.write({ t: 'events', events });
  }

  /** Ends the stream after a final `finish` event. */
  finish(event: Extract<ChatEvent, { type: 'finish' }>): void {
    this.emit([event]);
    this.close();
  }

  /** Ends the stream with an error line. */
  fail(error: TunnelErrorInfo): void {
    this.write({ t: 'error', error });
    this.close();
  }

  private write(line: TunnelStreamLine): void {
    if (this.closed) return;
    this.controller.enqueue(encodeStreamLine(line));
    const desired = this.controller.desiredSize;
    if (desired !== null && desired < -MAX_UNREAD_BYTES && !this.overflowed) {
      this.overflowed = true;
      this.onOverflow(this);
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.close();
  }
}
