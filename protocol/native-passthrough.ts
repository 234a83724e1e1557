/**
 * Native passthrough: a surface whose wire format a backend speaks itself
 * (Anthropic's Messages API and `anthropic/…` models) hands the client's own
 * body to that backend untouched, next to the translated ChatRequest that any
 * other backend of the chain gets. The backend's own stream frames then ride
 * along the normalized ChatEvents to the surface, which forwards them as they
 * came (so cache_control, thinking signatures and server-tool blocks survive).
 */
import type { GatewayError } from './gateway-error.ts';

/** The wire formats a backend may take natively. */
export type NativeFormat = 'anthropic-messages';

/** The client's body in a backend's own format, for a model that takes that format natively. */
export interface NativeRequest {
  format: NativeFormat;
  /** The body as the client sent it, less the gateway's routing fields; `model` is set per backend. */
  body: Readonly<Record<string, unknown>>;
  /** Client headers the backend's API defines (`anthropic-version`, `anthropic-beta`), forwarded as they came. */
  headers: Readonly<Record<string, string>>;
  /**
   * Why the body cannot be translated for a backend that does not take it
   * natively (a server-tool block, say): such a candidate fails with this
   * 400 instead of answering a silently different request.
   */
  untranslatable?: GatewayError;
}

/** One SSE frame exactly as the backend sent it. */
export interface NativeFrame {
  event: string;
  data: string;
}
