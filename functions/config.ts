/**
 * The only module that reads the Worker's env. Everything is parsed and
 * validated here once per isolate (cached by env identity); a bad value becomes a
 * GatewayError naming the variable (code `invalid_configuration`), never a crash
 * deep inside a handler. That detail is for the operator: the error renderer
 * logs it and answers the client with a generic 500.
 */
import * as z from 'zod';
import { GatewayError } from '../protocol/gateway-error.ts';
import { safeParseJson } from '../protocol/validate.ts';
import { ONLINE_PROVIDERS, PROVIDER_KEY_VARIABLES, type OnlineProvider, type Transport } from '../protocol/model-name.ts';

/** The bindings and vars as wrangler hands them to the Worker. */
export interface Env {
  GATEWAY_API_KEY?: string;
  BRIDGE_TOKEN?: string;
  OPENAI_API_KEY?: string;
  ANTHROPIC_API_KEY?: string;
  XAI_API_KEY?: string;
  GROQ_API_KEY?: string;
  TURSO_DATABASE_URL?: string;
  TURSO_AUTH_TOKEN?: string;
  AGENT_DEFAULT_TRANSPORT?: string;
  AGENT_ONLINE_ENDPOINTS?: string;
  BRIDGE_TUNNEL: DurableObjectNamespace;
}

const endpointSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeout_ms: z.int().min(100).max(600_000).optional(),
  models: z.array(z.string().min(1)).optional(),
});
export type EndpointOverride = z.infer<typeof endpointSchema>;

const endpointsSchema = z.partialRecord(z.enum(ONLINE_PROVIDERS), endpointSchema);

/** Built-in defaults; base URLs follow each official SDK. */
export const DEFAULT_BASE_URLS: Record<OnlineProvider, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  xai: 'https://api.x.ai/v1',
  groq: 'https://api.groq.com/openai/v1',
};
const DEFAULT_TIMEOUT_MS = 60_000;

export interface ProviderConfig {
  provider: OnlineProvider;
  apiKey: string;
  baseUrl: string;
  headers: Record<string, string>;
  /** Per-attempt deadline. */
  timeoutMs: number;
  /** Fixed model list for `/v1/models`, instead of asking the provider. */
  models: string[] | undefined;
  /** Values to scrub from anything this provider says: its key and its extra header values. */
  secrets: string[];
}

export interface DatabaseConfig {
  url: string;
  authToken: string | undefined;
}

export interface GatewayConfig {
  gatewayApiKey: string | undefined;
  bridgeToken: string | undefined;
  /** Only providers that have a key: a provider without one is not offered. */
  providers: Partial<Record<OnlineProvider, ProviderConfig>>;
  defaultTransport: Transport;
  database: DatabaseConfig | undefined;
}

/** The code of every configuration error; see `isConfigError`. */
export const CONFIG_ERROR_CODE = 'invalid_configuration';

/** A 500 naming the variable and what is wrong with it (never its value: it may be a secret). */
export function configError(variable: string, detail: string): GatewayError {
  return new GatewayError({
    status: 500,
    type: 'server_error',
    code: CONFIG_ERROR_CODE,
    message: `Server misconfigured: ${variable} ${detail}`,
  });
}

/** Is this a configuration error, whose message is for the log only? */
export function isConfigError(error: GatewayError): boolean {
  return error.code === CONFIG_ERROR_CODE;
}

export { PROVIDER_KEY_VARIABLES };
// Each provider's key variable is a field of Env.
PROVIDER_KEY_VARIABLES satisfies Record<OnlineProvider, keyof Env>;

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Parses and validates the env. Throws a GatewayError naming the variable. */
export function readConfig(env: Env): GatewayConfig {
  let endpoints: z.infer<typeof endpointsSchema> = {};
  const rawEndpoints = nonEmpty(env.AGENT_ONLINE_ENDPOINTS);
  if (rawEndpoints) {
    const json = safeParseJson(rawEndpoints);
    if (!json.ok) throw configError('AGENT_ONLINE_ENDPOINTS', 'is not valid JSON');
    const parsed = endpointsSchema.safeParse(json.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '';
      throw configError('AGENT_ONLINE_ENDPOINTS', `is invalid${where ? ` at ${where}` : ''}: ${issue?.message ?? 'bad value'}`);
    }
    endpoints = parsed.data;
  }

  const providers: GatewayConfig['providers'] = {};
  for (const provider of ONLINE_PROVIDERS) {
    const apiKey = nonEmpty(env[PROVIDER_KEY_VARIABLES[provider]]);
    if (!apiKey) continue;
    const override = endpoints[provider] ?? {};
    const headers = override.headers ?? {};
    providers[provider] = {
      provider,
      apiKey,
      baseUrl: (override.base_url ?? DEFAULT_BASE_URLS[provider]).replace(/\/+$/, ''),
      headers,
      timeoutMs: override.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      models: override.models,
      secrets: [apiKey, ...Object.values(headers)],
    };
  }

  const transport = nonEmpty(env.AGENT_DEFAULT_TRANSPORT) ?? 'online';
  if (transport !== 'online' && transport !== 'local') {
    throw configError('AGENT_DEFAULT_TRANSPORT', "must be 'online' or 'local'");
  }

  let database: DatabaseConfig | undefined;
  const databaseUrl = nonEmpty(env.TURSO_DATABASE_URL);
  if (databaseUrl) {
    if (!/^(libsql|https?|wss?):\/\/[^\s]+$/.test(databaseUrl)) {
      throw configError('TURSO_DATABASE_URL', 'must be a libsql://, https:// or http:// URL');
    }
    database = { url: databaseUrl, authToken: nonEmpty(env.TURSO_AUTH_TOKEN) };
  }

  return {
    gatewayApiKey: gatewayApiKey(env),
    bridgeToken: nonEmpty(env.BRIDGE_TOKEN),
    providers,
    defaultTransport: transport,
    database,
  };
}

/**
 * GATEWAY_API_KEY alone, read without validating the rest of the env, so the
 * gateway checks a caller's key before any other configuration problem can
 * answer them.
 */
export function gatewayApiKey(env: Env): string | undefined {
  return nonEmpty(env.GATEWAY_API_KEY);
}

const cache = new WeakMap<object, GatewayConfig>();

/** `readConfig`, computed once per env object (one per isolate in production). */
export function getConfig(env: Env): GatewayConfig {
  let config = cache.get(env);
  if (!config) {
    config = readConfig(env);
    cache.set(env, config);
  }
  return config;
}

/** Every secret value in the env, for scrubbing logs and error messages. */
export function secretValues(env: Env): string[] {
  return [env.GATEWAY_API_KEY, env.BRIDGE_TOKEN, env.TURSO_AUTH_TOKEN, ...Object.values(PROVIDER_KEY_VARIABLES).map((name) => env[name])]
    .map(nonEmpty)
    .filter((value): value is string => value !== undefined);
}

/** Settings and the bridge tunnel are per user; today every request is the default user's. */
export const DEFAULT_USER_ID = 'default';
