import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { readConfig, type Env } from '../config.ts';
import { selectModels, type AgentDefaults } from './model-selection.ts';

const env = { OPENAI_API_KEY: 'sk-test-openai', ANTHROPIC_API_KEY: 'sk-ant-test', BRIDGE_TUNNEL: {} } as unknown as Env;
const config = readConfig(env);
const localFirst = readConfig({ ...env, AGENT_DEFAULT_TRANSPORT: 'local' });
const messages: ChatRequest['messages'] = [{ role: 'user', content: 'Hi' }];

function pick(request: Partial<ChatRequest>, defaults?: AgentDefaults, gatewayConfig = config): string {
  const selection = selectModels({ messages, ...request }, defaults, gatewayConfig);
  return [selection.primary.full, ...selection.backups.map((backup) => backup.full)].join(' > ');
}

function refusal(request: Partial<ChatRequest>, defaults?: AgentDefaults, gatewayConfig = config): Pick<GatewayError, 'status' | 'param' | 'code'> {
  try {
    selectModels({ messages, ...request }, defaults, gatewayConfig);
  } catch (error) {
    const { status, param, code } = error as GatewayError;
    return { status, param, code };
  }
  throw new Error('expected a refusal');
}

describe('which model serves', () => {
  it('the model the request names', () => {
    expect(pick({ model: 'anthropic/claude-sonnet-4-5' })).toBe('anthropic/claude-sonnet-4-5');
    expect(pick({ model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit' })).toBe('local/mlx-community/Llama-3.2-3B-Instruct-4bit');
  });

  it('a bare id with agent_type local is that model on the bridge', () => {
    expect(pick({ model: 'llama3', agent_type: 'local' })).toBe('local/llama3');
  });

  it("without a model, the settings' preferred transport and its default model", () => {
    const defaults: AgentDefaults = { preferred_transport: 'local', default_local_model: 'local/qwen', default_online_model: 'openai/gpt-4o' };
    expect(pick({}, defaults)).toBe('local/qwen');
    expect(pick({ agent_type: 'online' }, defaults)).toBe('openai/gpt-4o');
  });

  it('without a model or a preferred transport, AGENT_DEFAULT_TRANSPORT picks the default model', () => {
    const defaults: AgentDefaults = { default_local_model: 'local/qwen', default_online_model: 'openai/gpt-4o' };
    expect(pick({}, defaults)).toBe('openai/gpt-4o');
    expect(pick({}, defaults, localFirst)).toBe('local/qwen');
  });

  it("without a model, the other transport's default when the preferred one has none", () => {
    expect(pick({}, { preferred_transport: 'local', default_online_model: 'openai/gpt-4o' })).toBe('openai/gpt-4o');
    expect(pick({}, { default_local_model: 'local/qwen' })).toBe('local/qwen'); // AGENT_DEFAULT_TRANSPORT is online
  });

  it("backups come from fallback_models, else the settings' backup_models, keeping only providers with keys", () => {
    const defaults: AgentDefaults = { backup_models: ['groq/llama-3.3-70b', 'anthropic/claude-haiku-4-5'] };
    expect(pick({ model: 'openai/gpt-4o' }, defaults)).toBe('openai/gpt-4o > anthropic/claude-haiku-4-5');
    expect(pick({ model: 'openai/gpt-4o', fallback_models: ['local/qwen', 'openai/gpt-4o', 'xai/grok-4'] }, defaults)).toBe('openai/gpt-4o > local/qwen');
  });
});

describe('which requests are refused', () => {
  it('an unknown provider prefix is 404 model_not_found on param model', () => {
    expect(refusal({ model: 'gpt-4o' })).toEqual({ status: 404, param: 'model', code: 'model_not_found' });
    expect(refusal({ model: 'mistral/large' })).toEqual({ status: 404, param: 'model', code: 'model_not_found' });
  });

  it('a provider without a key is 404 model_not_found', () => {
    expect(refusal({ model: 'xai/grok-4' })).toEqual({ status: 404, param: 'model', code: 'model_not_found' });
  });

  it('no model and no default is 400 on param model', () => {
    expect(refusal({})).toMatchObject({ status: 400, param: 'model' });
  });

  it('an agent_type with no default of its own is 400, never the other transport', () => {
    expect(refusal({ agent_type: 'local' }, { default_online_model: 'openai/gpt-4o' })).toMatchObject({ status: 400, param: 'model' });
  });

  it('the 400 for a missing model says the settings are unavailable when they could not be read, and that none is set when none is', () => {
    const messageOf = (defaults?: AgentDefaults): string => {
      try {
        selectModels({ messages }, defaults, config);
      } catch (error) {
        return (error as GatewayError).message;
      }
      throw new Error('expected a refusal');
    };
    expect(messageOf(undefined)).toContain('not available');
    expect(messageOf(undefined)).not.toContain('is set in the settings');
    expect(messageOf({})).toContain('no default online or local model is set in the settings');
  });

  it('an agent_type that contradicts the model is 400 on agent_type', () => {
    expect(refusal({ model: 'openai/gpt-4o', agent_type: 'local' })).toMatchObject({ status: 400, param: 'agent_type' });
  });

  it('a malformed fallback model is 400 naming its index', () => {
    expect(refusal({ model: 'openai/gpt-4o', fallback_models: ['anthropic/claude-haiku-4-5', 'nope'] })).toMatchObject({ status: 400, param: 'fallback_models[1]' });
  });
});

describe('MODEL_ALIASES', () => {
  const aliased = readConfig({
    ...env,
    MODEL_ALIASES: JSON.stringify({ 'claude-sonnet-4-5': 'anthropic/claude-sonnet-4-5', 'gpt-4o': 'openai/gpt-4o', coder: 'local/mlx-community/Qwen2.5-Coder-7B-Instruct-4bit' }),
  });

  it('a bare name the aliases map is served by its target, primary and backups alike', () => {
    expect(pick({ model: 'claude-sonnet-4-5', fallback_models: ['gpt-4o', 'coder'] }, undefined, aliased)).toBe(
      'anthropic/claude-sonnet-4-5 > openai/gpt-4o > local/mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
    );
  });

  it('an alias of a local model picks the local agent, and must agree with agent_type', () => {
    expect(selectModels({ messages, model: 'coder' }, undefined, aliased).transport).toBe('local');
    expect(refusal({ model: 'coder', agent_type: 'online' }, undefined, aliased)).toMatchObject({ status: 400, param: 'agent_type' });
  });

  it('a default model in the settings may be an alias', () => {
    expect(pick({}, { preferred_transport: 'online', default_online_model: 'gpt-4o' }, aliased)).toBe('openai/gpt-4o');
  });

  it('a bare name without an alias is still a 404 naming model', () => {
    expect(refusal({ model: 'claude-sonnet-4-5' })).toMatchObject({ status: 404, param: 'model', code: 'model_not_found' });
  });
});
