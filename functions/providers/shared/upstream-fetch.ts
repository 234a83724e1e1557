/**
 * One HTTP call to a provider over the injected fetch, with the failure rules
 * every provider shares: an abort of the caller's signal rethrows the signal's
 * reason; a connect failure is a retryable 502 (504 for a timeout); a non-2xx
 * answer is classified and its body cancelled (Workers allow 6 open connections).
 */
import { GatewayError } from '../../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { classifyUpstreamError } from './classify-upstream-error.ts';

export interface UpstreamRequest {
  provider: string;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** JSON-encoded body for POST. */
  body?: string;
  signal: AbortSignal;
  deps: RuntimeDeps;
  secrets: readonly string[];
}

const MAX_ERROR_BODY = 16 * 1024;
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function causeCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return undefined;
}

/** The GatewayError for a fetch that failed without any response. */
export function unreachable(provider: string, error: unknown): GatewayError {
  const code = causeCode(error);
  if (code && TIMEOUT_CODES.has(code)) {
    return new GatewayError({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message: `${provider}: timed out connecting`, retryable: true, cause: error });
  }
  return new GatewayError({
    status: 502,
    type: 'upstream_error',
    code: 'upstream_unreachable',
    message: `${provider}: could not connect${code ? ` (${code})` : ''}`,
    retryable: true,
    cause: error,
  });
}

/** Reads at most `limit` bytes of an error body, then cancels the rest. */
async function readLimitedText(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let finished = false;
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body that breaks off still leaves its status to classify.
  } finally {
    if (!finished) reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return text.slice(0, limit);
}

/** Sends the request; resolves with a 2xx response (body unread) or throws a classified GatewayError. */
export async function fetchUpstream(request: UpstreamRequest): Promise<Response> {
  const { provider, signal, deps } = request;
  let response: Response;
  try {
    response = await deps.fetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw unreachable(provider, error);
  }
  if (response.ok) return response;
  const bodyText = await readLimitedText(response, MAX_ERROR_BODY);
  if (signal.aborted) throw signal.reason;
  throw classifyUpstreamError(
    { provider, status: response.status, headers: response.headers, bodyText },
    { secrets: request.secrets, now: deps.now() },
  );
}

/** The GatewayError for a stream whose connection broke or that ended without its terminator. */
export function streamBroken(provider: string, sawContent: boolean, detail: string, cause?: unknown): GatewayError {
  return new GatewayError({
    status: 502,
    type: 'upstream_error',
    code: 'upstream_stream_error',
    message: `${provider}: the stream ${detail}`,
    retryable: !sawContent,
    retryableBeforeContent: true,
    cause,
  });
}
