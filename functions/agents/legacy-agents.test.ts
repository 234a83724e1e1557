import { describe, expect, it } from 'vitest';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { readConfig } from '../config.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';
import type { AgentFactoryOptions } from './factory.ts';
import { Gpt4Agent, LEGACY_GPT4_MODEL, LEGACY_LLAMA_MODEL, LlamaAgent } from './legacy-agents.ts';
import { answerEvents, scriptedModel, type ScriptedModel } from '../../tests/helpers/scripted-model.ts';

const config = readConfig({ OPENAI_API_KEY: 'sk-test-openai-key', BRIDGE_TUNNEL: {} as DurableObjectNamespace });

function factoryServing(online: ScriptedModel, local: ScriptedModel, localIds: string[]): AgentFactoryOptions {
  const adapter: ProviderAdapter = { createModel: () => online, listModels: async () => [] };
  const adapters: Record<OnlineProvider, ProviderAdapter> = { openai: adapter, anthropic: adapter, xai: adapter, groq: adapter };
  return {
    config,
    adapters,
    createLocalModel: (modelId) => {
      localIds.push(modelId);
      return local;
    },
  };
}

describe('legacy agents', () => {
  it('LlamaAgent serves MLX Llama 3 through the bridge, with local metadata', async () => {
    const online = scriptedModel('openai/gpt-4o', [{ kind: 'answer', events: answerEvents('online') }]);
    const local = scriptedModel(LEGACY_LLAMA_MODEL, [{ kind: 'answer', events: answerEvents('from the Mac') }]);
    const localIds: string[] = [];
    const agent = new LlamaAgent(factoryServing(online, local, localIds));

    const result = await agent.run({ messages: [{ role: 'user', content: 'Hi' }] });
    const text: string[] = [];
    for await (const event of result.events) if (event.type === 'text-delta') text.push(event.text);

    expect(text.join('')).toBe('from the Mac');
    expect(result.metadata).toMatchObject({ backend: 'local', model_id: LEGACY_LLAMA_MODEL });
    expect(localIds).toEqual(['mlx-community/Meta-Llama-3-8B-Instruct-4bit']);
    expect(online.calls).toHaveLength(0);
  });

  it("Gpt4Agent's chat() answers with OpenAI's text through the OnlineAgent", async () => {
    const online = scriptedModel(LEGACY_GPT4_MODEL, [{ kind: 'answer', events: answerEvents('Hello from GPT') }]);
    const local = scriptedModel(LEGACY_LLAMA_MODEL, [{ kind: 'answer', events: answerEvents('local') }]);
    const agent = new Gpt4Agent(factoryServing(online, local, []));

    expect(await agent.chat([{ role: 'user', content: 'Hi' }])).toBe('Hello from GPT');
    expect(online.calls[0]?.request.model).toBe('gpt-4o');
    expect(local.calls).toHaveLength(0);
  });

  it('keeps a model chosen at construction, so old configs that named another GPT-4 still work', async () => {
    const online = scriptedModel('openai/gpt-4-turbo', [{ kind: 'answer', events: answerEvents('turbo') }]);
    const agent = new Gpt4Agent(factoryServing(online, scriptedModel(LEGACY_LLAMA_MODEL, []), []), 'openai/gpt-4-turbo');

    const result = await agent.run({ messages: [{ role: 'user', content: 'Hi' }] });
    expect(result.metadata.model_id).toBe('openai/gpt-4-turbo');
  });
});
