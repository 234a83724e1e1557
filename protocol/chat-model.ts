/**
 * The one interface for everything that can answer a chat request: each cloud
 * provider implements it, and so does the bridge tunnel. Agents compose over it.
 */
import type { ChatEvent } from './chat-events.ts';
import type { UpstreamChatRequest } from './chat-request.ts';
import type { NativeFormat, NativeRequest } from './native-passthrough.ts';

export interface ChatModelCall {
  /** The validated request as this upstream takes it: its own `model` name (`gpt-4o`), none of our routing fields. */
  request: UpstreamChatRequest;
  /** Aborted when the client goes away or a deadline passes; must reach the upstream. */
  signal: AbortSignal;
  /**
   * The client's own body, set only for a model whose `passthrough` lists its
   * format: the model then sends it instead of translating `request`, and
   * attaches its raw frames to the events (`ChatEvent.native`).
   */
  native?: NativeRequest;
}

export interface ChatModel {
  /** Who serves: `openai`, `anthropic`, `xai`, `groq`, `mlx`, `vllm`, … */
  readonly provider: string;
  /** The full `provider/model` name this model answers to. */
  readonly modelId: string;
  /** Wire formats this model can take natively (protocol/native-passthrough.ts); none when absent. */
  readonly passthrough?: readonly NativeFormat[];
  /**
   * Starts a generation. Failures before the first event (HTTP status, connect
   * error, an in-band error before any delta) are thrown from the first
   * `next()` as a GatewayError with `retryable` set; later ones from a later
   * `next()`. Ends with exactly one `finish` event. `return()` on the iterator
   * cancels the upstream.
   */
  stream(call: ChatModelCall): AsyncIterable<ChatEvent>;
}
