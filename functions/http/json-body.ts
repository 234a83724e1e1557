/**
 * Reads a JSON request body: the content type checked, the bytes decoded as
 * strict UTF-8, the JSON parsed. Its size was already bounded by the route's
 * body-limit middleware (functions/middleware/body-limit.ts), before anything was read.
 */
import { invalidRequest } from '../../protocol/gateway-error.ts';
import { safeParseJson } from '../../protocol/validate.ts';

/** The parsed JSON body of `request`; 400 when it is not JSON. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw invalidRequest("The body must be JSON, sent with 'Content-Type: application/json'.", null, 'unsupported_content_type');
  }
  if (!request.body) throw invalidRequest('The request has no body; send the completion request as JSON.', null, 'invalid_json');
  const bytes = new Uint8Array(await request.arrayBuffer());
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
