/**
 * `POST /v1/messages/count_tokens`: the model is chosen as for a message
 * (aliases, prefixes, the settings' defaults); an `anthropic/…` model gets
 * Anthropic's own count of the body as the client wrote it, any other an
 * estimate (surfaces/anthropic-messages/estimate-tokens.ts), said so in
 * `x-agent-token-count`. No completion runs, so there is no fallback chain.
 */
import type { Handler } from 'hono';
import { parseOrThrow } from '../../protocol/validate.ts';
import { selectModels } from '../agents/model-selection.ts';
import { getConfig, type Env } from '../config.ts';
import { readJsonBody } from '../http/json-body.ts';
import { countTokensRequestSchema, countTokensToChatRequest, estimateInputTokens, nativeMessagesRequest } from '../surfaces/anthropic-messages/index.ts';
import type { AgentRouteOptions } from './agent-run.ts';

/** The route's handler. */
export function messagesCountTokens(options: AgentRouteOptions): Handler<{ Bindings: Env }> {
  return async (c) => {
    const body = parseOrThrow(countTokensRequestSchema, await readJsonBody(c.req.raw));
    const { request } = countTokensToChatRequest(body);
    const config = getConfig(c.env);
    const { primary } = selectModels(request, await options.loadAgentDefaults(c.env), config);
    const provider = primary.provider === 'local' ? undefined : config.providers[primary.provider];
    const countTokens = primary.provider === 'local' ? undefined : options.adapters[primary.provider].countTokens;
    if (provider && countTokens) {
      const native = nativeMessagesRequest(body, c.req.raw.headers, undefined);
      const inputTokens = await countTokens(provider, primary.model, native, options.deps, c.req.raw.signal);
      return c.json({ input_tokens: inputTokens }, 200, { 'x-agent-model': primary.full, 'x-agent-token-count': 'exact' });
    }
    return c.json({ input_tokens: estimateInputTokens(request) }, 200, { 'x-agent-model': primary.full, 'x-agent-token-count': 'estimate' });
  };
}
