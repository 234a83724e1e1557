/**
 * The ProviderAdapter for Anthropic, over the native Messages API
 * (`POST {base}/v1/messages`, `x-api-key`, `anthropic-version`).
 */
import type { ChatEvent } from '../../../protocol/chat-events.ts';
import type { ChatModel, ChatModelCall } from '../../../protocol/chat-model.ts';
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';
import type { ProviderConfig } from '../../config.ts';
import type { ProviderAdapter } from '../provider-model.ts';
import { withConfiguredHeaders } from '../shared/provider-headers.ts';
import { readUpstreamJson } from '../shared/read-upstream-json.ts';
import { streamUpstreamChat } from '../shared/stream-upstream-chat.ts';
import { fetchUpstream } from '../shared/upstream-fetch.ts';
import { ANTHROPIC_VERSION, anthropicModelListSchema } from './anthropic-api.ts';
import { buildAnthropicRequest } from './anthropic-request.ts';
import { translateAnthropicStream } from './anthropic-stream.ts';

/** Pages of the models list we follow at most (1000 models each). */
const MAX_MODEL_PAGES = 5;

function headersFor(config: ProviderConfig, extra: Record<string, string>): Record<string, string> {
  return withConfiguredHeaders({ 'x-api-key': config.apiKey, 'anthropic-version': ANTHROPIC_VERSION, ...extra }, config.headers);
}

function streamChat(config: ProviderConfig, model: string, deps: RuntimeDeps, call: ChatModelCall): AsyncIterable<ChatEvent> {
  return streamUpstreamChat({
    config,
    url: `${config.baseUrl}/v1/messages`,
    headers: headersFor(config, { 'content-type': 'application/json', accept: 'text/event-stream' }),
    // Built before the fetch: a refused field is a 400 that costs no upstream call.
    body: () => buildAnthropicRequest(call.request, model),
    signal: call.signal,
    deps,
    translate: translateAnthropicStream,
  });
}

export const anthropicAdapter: ProviderAdapter = {
  createModel(config: ProviderConfig, model: string, deps: RuntimeDeps): ChatModel {
    return {
      provider: config.provider,
      modelId: `${config.provider}/${model}`,
      stream: (call) => streamChat(config, model, deps, call),
    };
  },

  async listModels(config: ProviderConfig, deps: RuntimeDeps, signal: AbortSignal): Promise<string[]> {
    if (config.models) return [...config.models];
    const ids: string[] = [];
    let afterId: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = new URLSearchParams({ limit: '1000' });
      if (afterId) query.set('after_id', afterId);
      const response = await fetchUpstream({
        provider: config.provider,
        url: `${config.baseUrl}/v1/models?${query.toString()}`,
        method: 'GET',
        headers: headersFor(config, { accept: 'application/json' }),
        signal,
        deps,
        secrets: config.secrets,
      });
      const list = await readUpstreamJson(config.provider, response, anthropicModelListSchema);
      ids.push(...list.data.map((model) => model.id));
      if (!list.has_more || !list.last_id) break;
      afterId = list.last_id;
    }
    return ids;
  },
};
