/**
 * Merging neighbouring delta events: consecutive text pieces become one
 * `text-delta` (their token log probabilities, if any, concatenated; likewise reasoning and refusal pieces of one kind), and
 * consecutive argument pieces of the same tool call (a piece without `id` or
 * `name`) are appended to it. Lossless: the text is the same, in the same order,
 * and tool calls keep their indices. The bridge uses it to coalesce a frame,
 * the Worker to turn one frame into one SSE chunk.
 */
import type { DeltaEvent } from './chat-events.ts';

/** Appends `event` to `events`, merged into the last one when they are one piece; `event` is never modified. */
export function appendDeltaEvent(events: DeltaEvent[], event: DeltaEvent): void {
  const last = events.at(-1);
  if (last !== undefined && last.type !== 'tool-call-delta' && last.type === event.type) {
    last.text += event.text;
    // The tokens of merged text stay with it, in order.
    if (last.type === 'text-delta' && event.type === 'text-delta' && (last.logprobs || event.logprobs)) {
      last.logprobs = [...(last.logprobs ?? []), ...(event.logprobs ?? [])];
    }
  } else if (
    last?.type === 'tool-call-delta' &&
    event.type === 'tool-call-delta' &&
    last.index === event.index &&
    event.id === undefined &&
    event.name === undefined
  ) {
    last.arguments += event.arguments;
  } else {
    events.push({ ...event });
  }
}

/** `events` with the neighbours that can be one event merged into one; the input is never modified. */
export function mergeDeltaEvents(events: readonly DeltaEvent[]): DeltaEvent[] {
  if (events.length <= 1) return [...events];
  const merged: DeltaEvent[] = [];
  for (const event of events) appendDeltaEvent(merged, event);
  return merged;
}
