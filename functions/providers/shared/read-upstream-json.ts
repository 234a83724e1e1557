/** A provider's JSON answer, checked leniently; a body we cannot read is the upstream's fault (502). */
import type * as z from 'zod';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { safeParseJson } from '../../../protocol/validate.ts';

/** Parses `response` with `schema` or throws a retryable 502 naming the provider. */
export async function readUpstreamJson<S extends z.ZodType>(provider: string, response: Response, schema: S): Promise<z.output<S>> {
  const json = safeParseJson(await response.text());
  const parsed = json.ok ? schema.safeParse(json.value) : undefined;
  if (parsed?.success) return parsed.data;
  throw new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_error', message: `${provider}: answered with a body of an unexpected shape`, retryable: true });
}
