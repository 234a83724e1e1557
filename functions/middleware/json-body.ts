/**
 * Reads a JSON request body under a size limit: a declared Content-Length over
 * the limit is refused before reading, and a body without one (chunked) is
 * counted as it streams and cut off the moment it passes the limit.
 */
import { GatewayError, invalidRequest } from '../../protocol/gateway-error.ts';
import { safeParseJson } from '../../protocol/validate.ts';

/** 10 MiB: room for a few base64 images, far below what a Worker may hold. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

function tooLarge(limit: number): GatewayError {
  const size = limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
  return new GatewayError({ status: 413, type: 'invalid_request_error', code: 'request_too_large', message: `The request body exceeds the limit of ${size}.`, callerFault: true });
}

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return bytes;
}

/** The parsed JSON body of `request`; 413 over `limit`, 400 when it is not JSON. */
export async function readJsonBody(request: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw invalidRequest("The body must be JSON, sent with 'Content-Type: application/json'.", null, 'unsupported_content_type');
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!request.body) throw invalidRequest('The request has no body; send the completion request as JSON.', null, 'invalid_json');
  const bytes = await readLimited(request.body, limit);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidRequest('The body is not valid UTF-8.', null, 'invalid_json');
  }
  const json = safeParseJson(text);
  if (!json.ok) throw invalidRequest('We could not parse the JSON body of your request. The body must be valid JSON.', null, 'invalid_json');
  return json.value;
}
