/**
 * Tunnel `err` frames ↔ GatewayError. The bridge turns whatever its runner threw
 * into a frame; the Worker turns the frame back into the GatewayError that
 * agents understand (status, retryable, Retry-After). Both directions live here
 * so the table is written once. Documented in docs/tunnel-protocol.md.
 */
import { GatewayError, type GatewayErrorType } from './gateway-error.ts';
import { TUNNEL_ERROR_CODES, type TunnelErrorCode } from './tunnel-frames.ts';

/** What an `err` frame carries, minus `v`, `t` and `id`. */
export interface TunnelErrorInfo {
  code: TunnelErrorCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  /** The request field a `bad_request` is about (the gateway's 400 names it). */
  param?: string;
}

/** How long a client should wait before trying again while no bridge is connected. */
export const BRIDGE_OFFLINE_RETRY_AFTER_MS = 5_000;
/** How long a client should wait after a bridge stopped answering (it is routed to again once it speaks). */
export const BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS = 5_000;
/** Default wait suggested when the bridge's queue is full. */
export const BUSY_RETRY_AFTER_MS = 2_000;

interface Mapping {
  status: number;
  type: GatewayErrorType;
  callerFault?: boolean;
  defaultRetryAfterMs?: number;
}

// `retryable` means a retry or a backup model may succeed (the agents fall back on it).
const MAPPINGS: Record<TunnelErrorCode, Mapping> = {
  bad_request: { status: 400, type: 'invalid_request_error', callerFault: true },
  model_not_found: { status: 404, type: 'not_found_error', callerFault: true },
  // The bridge has no usable runner for the model (vLLM without VLLM_BASE_URL, a config naming an
  // unregistered runner): the bridge's setup, not the caller, and a backup model can serve meanwhile.
  runner_unavailable: { status: 503, type: 'service_unavailable' },
  busy: { status: 429, type: 'rate_limit_error', defaultRetryAfterMs: BUSY_RETRY_AFTER_MS },
  // 503, not WebDAV's 507: OpenAI clients know 503, and a backup model can fix it.
  insufficient_memory: { status: 503, type: 'service_unavailable' },
  load_failed: { status: 502, type: 'upstream_error' },
  runner_crashed: { status: 502, type: 'upstream_error' },
  bridge_offline: { status: 503, type: 'service_unavailable', defaultRetryAfterMs: BRIDGE_OFFLINE_RETRY_AFTER_MS },
  // Connected but silent (no ack within ACK_TIMEOUT_MS, or a missed heartbeat): a backup can serve meanwhile.
  bridge_unresponsive: { status: 503, type: 'service_unavailable', defaultRetryAfterMs: BRIDGE_UNRESPONSIVE_RETRY_AFTER_MS },
  protocol: { status: 502, type: 'upstream_error' },
  // nginx's "client closed request": only ever seen by logs, the client is gone.
  cancelled: { status: 499, type: 'server_error' },
  timeout: { status: 504, type: 'timeout_error' },
  internal: { status: 500, type: 'server_error' },
};

/** The GatewayError an `err` frame stands for. */
export function gatewayErrorFromTunnel(info: TunnelErrorInfo, cause?: unknown): GatewayError {
  const mapping = MAPPINGS[info.code];
  return new GatewayError({
    status: mapping.status,
    type: mapping.type,
    code: info.code,
    message: info.message,
    retryable: info.retryable,
    retryAfterMs: info.retryAfterMs ?? (info.retryable ? mapping.defaultRetryAfterMs : undefined),
    callerFault: mapping.callerFault ?? false,
    param: info.param ?? null,
    cause,
  });
}

export interface TunnelErrorOptions {
  retryAfterMs?: number;
  cause?: unknown;
  /** For `bad_request`: the request field at fault. */
  param?: string;
}

/** A ready-made error of one code, with the default retry policy for that code: what the bridge's parts throw. */
export function tunnelError(code: TunnelErrorCode, message: string, options: TunnelErrorOptions = {}): GatewayError {
  const retryable = !MAPPINGS[code].callerFault && code !== 'cancelled';
  return gatewayErrorFromTunnel({ code, message, retryable, retryAfterMs: options.retryAfterMs, param: options.param }, options.cause);
}

function isTunnelErrorCode(value: string | null): value is TunnelErrorCode {
  return value !== null && (TUNNEL_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * What the bridge sends for a thrown value. The bridge's parts throw tunnel
 * codes (`tunnelError`), which keep their code, message and `param`. A
 * GatewayError of the caller's fault without one (a shared validator's
 * `invalidRequest`) is a `bad_request`; anything else becomes `internal`, and a
 * value that is no GatewayError leaks nothing (the bridge logs the details).
 */
export function tunnelErrorFromThrown(error: unknown): TunnelErrorInfo {
  if (!GatewayError.isInstance(error)) {
    return { code: 'internal', message: 'The bridge failed to run the request', retryable: true };
  }
  const code: TunnelErrorCode = isTunnelErrorCode(error.code) ? error.code : error.type === 'invalid_request_error' ? 'bad_request' : 'internal';
  const info: TunnelErrorInfo = { code, message: error.message, retryable: error.retryable };
  if (error.retryAfterMs !== undefined) info.retryAfterMs = Math.max(0, Math.round(error.retryAfterMs));
  if (error.param) info.param = error.param;
  return info;
}
