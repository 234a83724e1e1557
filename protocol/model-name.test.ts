import { describe, expect, it } from 'vitest';
import { TRAVERSAL_MODEL_IDS } from '../tests/helpers/hostile-model-ids.ts';
import { modelIdProblem, modelNameSchema, parseModelName } from './model-name.ts';

describe('the model-id rule', () => {
  it.each([
    ['..', "'.' or '..' segment"],
    ['.', "'.' or '..' segment"],
    ['bridge/../../../../tmp/x', "'.' or '..' segment"],
    ['a/./b', "'.' or '..' segment"],
    ['tmp/x/..', "'.' or '..' segment"],
    ['a//b', 'empty segment'],
    ['a/b/', 'empty segment'],
    ['/etc/passwd', 'empty segment'],
    ['', 'empty segment'],
    ['a\\b', 'backslash'],
    ['mlx-community\\..\\x', 'backslash'],
  ])('refuses %j (%s)', (id, why) => {
    expect(modelIdProblem(id)).toContain(why);
  });

  it.each(['mlx-community/Llama-3.2-3B-Instruct-4bit', 'qwen2.5:7b', 'org/model@main', 'a..b/c...d', '.hidden-is-a-name/x', 'x/%2e%2e/y'])(
    'accepts %j: dots inside a segment and URL escapes are just characters',
    (id) => {
      expect(modelIdProblem(id)).toBeUndefined();
    },
  );

  it.each(TRAVERSAL_MODEL_IDS)('parseModelName refuses local/%s, and modelNameSchema says why', (id) => {
    expect(parseModelName(`local/${id}`)).toBeUndefined();
    const parsed = modelNameSchema.safeParse(`local/${id}`);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/backslash|segment/);
  });

  it('still splits names that are fine', () => {
    expect(parseModelName('local/mlx-community/Llama-3.2-3B-Instruct-4bit')).toEqual({
      provider: 'local',
      model: 'mlx-community/Llama-3.2-3B-Instruct-4bit',
      full: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit',
      transport: 'local',
    });
    expect(parseModelName('openai/gpt-4o')?.transport).toBe('online');
    expect(parseModelName('openai/../gpt-4o')).toBeUndefined();
  });
});
