/**
 * The client's Messages body as a native passthrough (protocol/native-passthrough.ts):
 * everything as it came except the gateway's routing fields and `model`
 * (each candidate sets its own), with the Anthropic headers the client sent.
 */
import type { GatewayError } from '../../../protocol/gateway-error.ts';
import type { NativeRequest } from '../../../protocol/native-passthrough.ts';
import { ROUTING_FIELDS } from './messages-request.ts';

/** The client headers that belong to Anthropic's API and travel with a passthrough. */
const ANTHROPIC_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

/** The passthrough for `body`; `untranslatable` is what other backends must refuse. */
export function nativeMessagesRequest(body: Readonly<Record<string, unknown>>, headers: Headers, untranslatable: GatewayError | undefined): NativeRequest {
  const forwarded: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    if (field !== 'model' && !(ROUTING_FIELDS as readonly string[]).includes(field)) forwarded[field] = value;
  }
  const anthropicHeaders: Record<string, string> = {};
  for (const name of ANTHROPIC_HEADERS) {
    const value = headers.get(name);
    if (value !== null && value.trim() !== '') anthropicHeaders[name] = value.trim();
  }
  const native: NativeRequest = { format: 'anthropic-messages', body: forwarded, headers: anthropicHeaders };
  if (untranslatable) native.untranslatable = untranslatable;
  return native;
}
