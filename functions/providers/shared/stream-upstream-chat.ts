/**
 * The one way a provider streams a chat: POST the translated body, read the
 * SSE answer, translate it into ChatEvents, and guard the stream (abort,
 * cut connections) the same way for every provider.
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { readSseEvents, type SseEvent } from '../../../protocol/sse.ts';
import type { ProviderConfig } from '../../config.ts';
import { fetchUpstream, guardStream, streamBroken } from './upstream-fetch.ts';

/** Set by a translator once a delta went out: later failures are then mid-stream. */
export interface TranslationState {
  sawContent: boolean;
}

export interface UpstreamChat {
  config: ProviderConfig;
  url: string;
  headers: Record<string, string>;
  /** The provider's request body, already built (a refused field threw before any call). */
  body: unknown;
  signal: AbortSignal;
  deps: RuntimeDeps;
  translate: (events: AsyncIterable<SseEvent>, context: { provider: string; secrets: readonly string[]; state: TranslationState }) => AsyncGenerator<ChatEvent, void, undefined>;
}

/** Streams one chat from the upstream as normalized events. */
export async function* streamUpstreamChat(chat: UpstreamChat): AsyncGenerator<ChatEvent, void, undefined> {
  const { config } = chat;
  const { secrets } = config;
  const response = await fetchUpstream({
    provider: config.provider,
    url: chat.url,
    method: 'POST',
    headers: chat.headers,
    body: JSON.stringify(chat.body),
    signal: chat.signal,
    deps: chat.deps,
    secrets,
  });
  if (!response.body) throw streamBroken(config.provider, false, 'had no body');
  const state: TranslationState = { sawContent: false };
  const events = chat.translate(readSseEvents(response.body), { provider: config.provider, secrets, state });
  yield* guardStream(config.provider, chat.signal, events, () => state.sawContent);
}
