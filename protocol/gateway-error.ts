import type { AgentMetadata } from './chat-response.ts';

/**
 * The one error type of the project. Thrown anywhere; rendered only at the edge
 * (`app.onError` in the Worker, an `err` frame in the bridge) as the OpenAI error
 * shape `{error: {message, type, param, code}}`.
 */

/** OpenAI's error `type` values, plus the ones gateways use for upstream trouble. */
export type GatewayErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'service_unavailable';

export interface GatewayErrorOptions {
  status: number;
  type: GatewayErrorType;
  message: string;
  param?: string | null;
  code?: string | null;
  /** A retry (same provider, or the next one) may succeed. */
  retryable?: boolean;
  /**
   * Not retryable only because part of the answer had already gone out: had
   * nothing reached the client, a retry would be invisible. Set where such a
   * failure is raised; a non-streaming request, which sends nothing until the
   * end, retries it.
   */
  retryableBeforeContent?: boolean;
  /** Milliseconds the caller should wait before retrying (Retry-After). */
  retryAfterMs?: number;
  /** The failure is the caller's own (bad body, unknown model): never fall back. */
  callerFault?: boolean;
  /** Who was tried before this error became the answer: the `x-agent-*` headers of an error response. */
  agent?: AgentMetadata;
  cause?: unknown;
}

const MARKER = Symbol.for('agent-gateway.GatewayError');

export class GatewayError extends Error {
  readonly status: number;
  readonly type: GatewayErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryable: boolean;
  readonly retryableBeforeContent: boolean;
  readonly retryAfterMs: number | undefined;
  readonly callerFault: boolean;
  readonly agent: AgentMetadata | undefined;
  readonly [MARKER] = true;

  constructor(options: GatewayErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = 'GatewayError';
    this.status = options.status;
    this.type = options.type;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryable = options.retryable ?? false;
    this.retryableBeforeContent = options.retryableBeforeContent ?? this.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.callerFault = options.callerFault ?? false;
    this.agent = options.agent;
  }

  /** A copy with some fields replaced (errors are immutable; the copy keeps the cause). */
  with(changes: Partial<GatewayErrorOptions>): GatewayError {
    return new GatewayError({
      status: this.status,
      type: this.type,
      message: this.message,
      param: this.param,
      code: this.code,
      retryable: this.retryable,
      retryableBeforeContent: this.retryableBeforeContent,
      retryAfterMs: this.retryAfterMs,
      callerFault: this.callerFault,
      agent: this.agent,
      cause: this.cause,
      ...changes,
    });
  }

  /** Works across bundles and realms, where `instanceof` does not. */
  static isInstance(value: unknown): value is GatewayError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }

  /** The OpenAI-shaped body every error response carries. */
  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A 400 for a bad request field: `param` names the field, nothing is sent upstream. */
export function invalidRequest(message: string, param: string | null = null, code: string | null = null): GatewayError {
  return new GatewayError({ status: 400, type: 'invalid_request_error', message, param, code, callerFault: true });
}

/** Any thrown value as a GatewayError; unknown errors become a bare 500 that leaks nothing. */
export function toGatewayError(error: unknown): GatewayError {
  if (GatewayError.isInstance(error)) return error;
  return new GatewayError({ status: 500, type: 'server_error', message: 'Internal error', cause: error });
}

/** A 404 for a model we do not offer, in OpenAI's words (`param: "model"`, `code: "model_not_found"`). */
export function modelNotFound(message: string): GatewayError {
  return new GatewayError({ status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model', message, callerFault: true });
}
