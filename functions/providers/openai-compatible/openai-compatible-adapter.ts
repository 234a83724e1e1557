/**
 * The ProviderAdapter of OpenAI, xAI and Groq: one implementation over the
 * injected fetch (not the openai SDK: the Worker's bundle budget), parametrised
 * by a profile of capabilities.
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
import { openaiModelListSchema } from '../../../protocol/openai-chat-wire.ts';
import type { OpenAICompatibleProfile } from './openai-compatible-profiles.ts';
import { buildOpenAICompatibleBody } from './openai-compatible-request.ts';
import { translateOpenAICompatibleStream } from './openai-compatible-stream.ts';

function headersFor(config: ProviderConfig, extra: Record<string, string>): Record<string, string> {
  return withConfiguredHeaders({ authorization: `Bearer ${config.apiKey}`, ...extra }, config.headers);
}

function streamChat(config: ProviderConfig, model: string, profile: OpenAICompatibleProfile, deps: RuntimeDeps, call: ChatModelCall): AsyncIterable<ChatEvent> {
  return streamUpstreamChat({
    config,
    url: `${config.baseUrl}/chat/completions`,
    headers: headersFor(config, { 'content-type': 'application/json', accept: 'text/event-stream' }),
    // Built before the fetch: a refused field is a 400 that costs no upstream call.
    body: () => buildOpenAICompatibleBody(call.request, model, profile),
    signal: call.signal,
    deps,
    translate: (context) => translateOpenAICompatibleStream({ ...context, usageMeaning: profile.usageMeaning }),
  });
}

/** The adapter for one OpenAI-compatible provider. */
export function createOpenAICompatibleAdapter(profile: OpenAICompatibleProfile): ProviderAdapter {
  return {
    createModel(config: ProviderConfig, model: string, deps: RuntimeDeps): ChatModel {
      return {
        provider: config.provider,
        modelId: `${config.provider}/${model}`,
        stream: (call) => streamChat(config, model, profile, deps, call),
      };
    },

    async listModels(config: ProviderConfig, deps: RuntimeDeps, signal: AbortSignal): Promise<string[]> {
      if (config.models) return [...config.models];
      const response = await fetchUpstream({
        provider: config.provider,
        url: `${config.baseUrl}/models`,
        method: 'GET',
        headers: headersFor(config, { accept: 'application/json' }),
        signal,
        deps,
        secrets: config.secrets,
      });
      const list = await readUpstreamJson(config.provider, response, openaiModelListSchema);
      return list.data.map((model) => model.id);
    },
  };
}
