import { describe, expect, it } from 'vitest';
import { readConfig, type Env } from '../../../functions/config.ts';
import { GatewayError } from '../../../protocol/gateway-error.ts';

const env = { BRIDGE_TUNNEL: {} } as unknown as Env;

function configMessage(aliases: string): string {
  try {
    readConfig({ ...env, MODEL_ALIASES: aliases });
  } catch (error) {
    if (GatewayError.isInstance(error)) return `${error.status} ${error.code ?? ''} ${error.message}`;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('MODEL_ALIASES in the config', () => {
  it('maps each bare name to its provider/model', () => {
    const config = readConfig({ ...env, MODEL_ALIASES: '{"claude-sonnet-4-5": "anthropic/claude-sonnet-4-5", "coder": "local/mlx-community/a/b"}' });
    expect([...config.aliases]).toEqual([
      ['claude-sonnet-4-5', 'anthropic/claude-sonnet-4-5'],
      ['coder', 'local/mlx-community/a/b'],
    ]);
  });

  it('is empty when unset or blank', () => {
    expect(readConfig(env).aliases.size).toBe(0);
    expect(readConfig({ ...env, MODEL_ALIASES: '  ' }).aliases.size).toBe(0);
  });

  it('names the variable and what is wrong, never a crash', () => {
    expect(configMessage('{not json')).toBe('500 invalid_configuration Server misconfigured: MODEL_ALIASES is not valid JSON');
    expect(configMessage('["a"]')).toContain('MODEL_ALIASES is invalid');
    expect(configMessage('{"coder": "gpt-4o"}')).toContain('MODEL_ALIASES is invalid at coder');
    expect(configMessage('{"coder": "local/../etc"}')).toContain('MODEL_ALIASES is invalid at coder');
    // An alias never shadows a provider/model name.
    expect(configMessage('{"openai/gpt-4o": "anthropic/claude-sonnet-4-5"}')).toContain('MODEL_ALIASES is invalid at openai/gpt-4o');
  });
});
