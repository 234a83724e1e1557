/**
 * Model names are `provider/model`. `local/<id>` is served by the bridge, where
 * `<id>` may itself contain slashes (`local/mlx-community/Llama-3.2-3B-Instruct-4bit`).
 */
import * as z from 'zod';

export const ONLINE_PROVIDERS = ['openai', 'anthropic', 'xai', 'groq'] as const;
export type OnlineProvider = (typeof ONLINE_PROVIDERS)[number];

/**
 * Provider → the env variable holding its key (docs/agents.md); the one copy of this
 * table, read by the Worker's config and by `npm start`'s `.dev.vars` writer alike.
 */
export const PROVIDER_KEY_VARIABLES = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  xai: 'XAI_API_KEY',
  groq: 'GROQ_API_KEY',
} as const satisfies Record<OnlineProvider, string>;
export type Transport = 'online' | 'local';

export interface ModelName {
  /** `openai`, `anthropic`, `xai`, `groq` or `local`. */
  provider: OnlineProvider | 'local';
  /** What the upstream calls it: `gpt-4o`, `mlx-community/Llama-3.2-3B-Instruct-4bit`. */
  model: string;
  /** The full name as the client wrote it. */
  full: string;
  transport: Transport;
}

const MODEL_PART = /^[A-Za-z0-9][A-Za-z0-9._:@+\-/]*$/;

/**
 * Why `id` cannot be (part of) a model name, or `undefined` when it can. A
 * model id ends up as a folder or Hub path on the bridge (`mlx_lm.load`), so
 * an empty, `.` or `..` segment or a backslash (a separator on Windows) could
 * walk out of where models live. The one definition of this rule, used by the
 * gateway (request bodies, settings) and the bridge (every request it runs).
 */
export function modelIdProblem(id: string): string | undefined {
  if (id.includes('\\')) return 'must not contain a backslash';
  const segments = id.split('/');
  if (segments.includes('')) return "must not contain an empty segment (a leading, trailing or doubled '/')";
  if (segments.some((segment) => segment === '.' || segment === '..')) return "must not contain a '.' or '..' segment";
  return undefined;
}

/** Splits a full model name; `undefined` when it is not `provider/model` with a known provider and a safe id. */
export function parseModelName(full: string): ModelName | undefined {
  const slash = full.indexOf('/');
  if (slash <= 0) return undefined;
  const provider = full.slice(0, slash);
  const model = full.slice(slash + 1);
  if (!MODEL_PART.test(model) || model.length > 200 || modelIdProblem(model) !== undefined) return undefined;
  if (provider === 'local') return { provider, model, full, transport: 'local' };
  if ((ONLINE_PROVIDERS as readonly string[]).includes(provider)) {
    return { provider: provider as OnlineProvider, model, full, transport: 'online' };
  }
  return undefined;
}

/** A model name field: `provider/model` with a known provider. */
export const modelNameSchema = z
  .string()
  .max(256)
  .superRefine((value, context) => {
    const problem = modelIdProblem(value);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: `a model name ${problem}`, abort: true });
  })
  .refine((value) => parseModelName(value) !== undefined, {
    message: `must be 'provider/model' with provider one of ${[...ONLINE_PROVIDERS, 'local'].join(', ')}`,
  });

/** A `local/<id>` model name. */
export const localModelNameSchema = modelNameSchema.refine((value) => value.startsWith('local/'), {
  message: "must be a 'local/<model_id>' name",
});
