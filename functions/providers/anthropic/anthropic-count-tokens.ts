/**
 * Anthropic's own token count (`POST {base}/v1/messages/count_tokens`) for a
 * Messages body, sent as the client wrote it with only `model` replaced (the
 * endpoint takes no `max_tokens`, `stream` or sampling fields, and refuses them).
 */
import * as z from 'zod';
import type { NativeRequest } from '../../../protocol/native-passthrough.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import type { ProviderConfig } from '../../config.ts';
import { readUpstreamJson } from '../shared/read-upstream-json.ts';
import { fetchUpstream } from '../shared/upstream-fetch.ts';

/** The fields count_tokens accepts besides `model`; anything else of a Messages body is left out. */
const COUNTED_FIELDS = ['messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers'] as const;

const countSchema = z.object({ input_tokens: z.number() });

export interface AnthropicTokenCount {
  config: ProviderConfig;
  model: string;
  native: NativeRequest;
  headers: Record<string, string>;
  deps: RuntimeDeps;
  signal: AbortSignal;
}

/** The body count_tokens receives for `native`. */
export function countTokensBody(native: NativeRequest, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = { model };
  for (const field of COUNTED_FIELDS) if (native.body[field] !== undefined) body[field] = native.body[field];
  return body;
}

/** Anthropic's `input_tokens` for the request. */
export async function countAnthropicTokens(count: AnthropicTokenCount): Promise<number> {
  const { config } = count;
  const response = await fetchUpstream({
    provider: config.provider,
    url: `${config.baseUrl}/v1/messages/count_tokens`,
    method: 'POST',
    headers: count.headers,
    body: JSON.stringify(countTokensBody(count.native, count.model)),
    signal: count.signal,
    deps: count.deps,
    secrets: config.secrets,
  });
  return (await readUpstreamJson(config.provider, response, countSchema)).input_tokens;
}
