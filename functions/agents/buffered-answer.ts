/**
 * A non-streaming request's answer, read to its end before anything is sent:
 * the client gets the JSON body only once the model finished, so until then a
 * failure anywhere in the answer can still fall back (fallback-runner.ts), and
 * the client sees only the answer that completed.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import { forEachEvent, replayEvents } from '../../protocol/event-batches.ts';
import { toGatewayError, type GatewayError } from '../../protocol/gateway-error.ts';

export type GatheredAnswer = { ok: true; events: ChatEvent[] } | { ok: false; error: GatewayError };

/** Every event of a committed stream, or the failure that ended it. */
export async function gatherAnswer(events: AsyncIterable<ChatEvent>): Promise<GatheredAnswer> {
  const gathered: ChatEvent[] = [];
  try {
    await forEachEvent(events, (event) => gathered.push(event));
    return { ok: true, events: gathered };
  } catch (error) {
    return { ok: false, error: toGatewayError(error) };
  }
}

/** The gathered events, played back for the JSON aggregator (all of them at once, to whoever drains). */
export function replayAnswer(events: readonly ChatEvent[]): AsyncIterableIterator<ChatEvent> {
  return replayEvents(events);
}
