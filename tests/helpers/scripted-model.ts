/**
 * A ChatModel for unit tests of the agents: each call plays the next scripted
 * behavior (the last one repeats), honours its signal the way the real
 * providers do (rethrowing the signal's reason), and is recorded.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel, ChatModelCall } from '../../protocol/chat-model.ts';
import type { GatewayError } from '../../protocol/gateway-error.ts';

export type ScriptedBehavior =
  /** Yields these events (end with a `finish`). */
  | { kind: 'answer'; events: ChatEvent[] }
  /** Throws before any event. */
  | { kind: 'fail'; error: GatewayError }
  /** Yields `events`, then throws `error`. */
  | { kind: 'fail-after'; events: ChatEvent[]; error: GatewayError }
  /** Yields `events`, then waits until its signal aborts. */
  | { kind: 'stall'; events?: ChatEvent[] }
  /**
   * Yields each event `afterMs` after the previous one (timers, so fake time
   * drives it), then throws `error` if given; with `forever`, repeats the
   * steps until its signal aborts.
   */
  | { kind: 'timed'; steps: Array<{ afterMs: number; event: ChatEvent }>; error?: GatewayError; forever?: boolean };

export interface ScriptedModel extends ChatModel {
  /** Every call so far, with the signal it was given. */
  readonly calls: ChatModelCall[];
  /** When each call started (`Date.now()`, fake or not). */
  readonly callTimes: number[];
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** A model `provider/model` that plays `behaviors` one call at a time. */
export function scriptedModel(modelId: string, behaviors: ScriptedBehavior[]): ScriptedModel {
  const calls: ChatModelCall[] = [];
  const callTimes: number[] = [];
  const provider = modelId.slice(0, modelId.indexOf('/'));
  async function* play(call: ChatModelCall, behavior: ScriptedBehavior | undefined): AsyncGenerator<ChatEvent, void, undefined> {
    if (!behavior) throw new Error(`no behavior scripted for ${modelId}`);
    // A microtask, as a network call would take, so the signal is observed.
    await Promise.resolve();
    if (call.signal.aborted) throw call.signal.reason;
    switch (behavior.kind) {
      case 'fail':
        throw behavior.error;
      case 'answer':
        for (const event of behavior.events) {
          if (call.signal.aborted) throw call.signal.reason;
          yield event;
        }
        return;
      case 'fail-after':
        for (const event of behavior.events) yield event;
        throw behavior.error;
      case 'stall':
        for (const event of behavior.events ?? []) yield event;
        await untilAborted(call.signal);
        return;
      case 'timed':
        do {
          for (const step of behavior.steps) {
            await delay(step.afterMs, call.signal);
            yield step.event;
          }
        } while (behavior.forever);
        if (behavior.error) throw behavior.error;
    }
  }
  return {
    provider,
    modelId,
    calls,
    callTimes,
    stream(call) {
      calls.push(call);
      callTimes.push(Date.now());
      return play(call, behaviors[Math.min(calls.length - 1, behaviors.length - 1)]);
    },
  };
}

/** The events of a short successful answer. */
export function answerEvents(text = 'Hello there'): ChatEvent[] {
  const words = text.split(/(?<= )/);
  return [
    ...words.map((word): ChatEvent => ({ type: 'text-delta', text: word })),
    { type: 'finish', finishReason: 'stop', usage: { prompt_tokens: 5, completion_tokens: words.length, total_tokens: 5 + words.length } },
  ];
}

/** Reads every event, returning them and the error that ended the stream, if any. */
export async function drain(events: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error: unknown }> {
  const seen: ChatEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
    return { events: seen, error: undefined };
  } catch (error) {
    return { events: seen, error };
  }
}
