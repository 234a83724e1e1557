/**
 * Which model serves a request, and which back it up: explicit `agent_type`,
 * else the model's provider prefix, else (no model) the user's settings
 * (preferred transport, else AGENT_DEFAULT_TRANSPORT, with the matching default
 * model, else the other transport's default). A name MODEL_ALIASES maps
 * (`claude-sonnet-4-5` → `anthropic/claude-sonnet-4-5`) stands for its target
 * everywhere a model is named, so every route resolves it alike. Pure: no I/O.
 */
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError, invalidRequest, modelNotFound } from '../../protocol/gateway-error.ts';
import { modelIdProblem, ONLINE_PROVIDERS, parseModelName, type ModelName, type Transport } from '../../protocol/model-name.ts';
import { PROVIDER_KEY_VARIABLES, type GatewayConfig } from '../config.ts';

/**
 * The user's settings as the agent layer reads them (snake_case, as the
 * settings API names them); absent means "not chosen". The one definition:
 * settings/load-agent-defaults.ts fills it in, the factory and the routes read it.
 */
export interface AgentDefaults {
  preferred_transport?: Transport;
  default_online_model?: string;
  default_local_model?: string;
  backup_models?: string[];
  /** Not used to pick a model: the routes pass it on in the answer's metadata (routes/agent-run.ts). */
  rag_archives?: string[];
}

export interface ModelSelection {
  transport: Transport;
  primary: ModelName;
  /** Only models that can be offered (online ones need their provider's key), without the primary. */
  backups: ModelName[];
}

function offered(name: ModelName, config: GatewayConfig): boolean {
  return name.transport === 'local' || config.providers[name.provider as keyof GatewayConfig['providers']] !== undefined;
}

/** The `provider/model` an alias stands for, else the name as written. */
function unalias(written: string, config: GatewayConfig): string {
  return config.aliases.get(written) ?? written;
}

function resolvePrimary(asked: string, transport: Transport | undefined, config: GatewayConfig): ModelName {
  const written = unalias(asked, config);
  // A malformed id is the caller's mistake (400), not an unknown model (404); it never reaches a bridge.
  const problem = modelIdProblem(written);
  if (problem !== undefined) throw invalidRequest(`Invalid value for 'model': '${written}' ${problem}.`, 'model');
  let name = parseModelName(written);
  // `agent_type: "local"` with a bare id means that id on the bridge, as Ollama users would write it.
  if (!name && transport === 'local' && !written.includes('/')) name = parseModelName(`local/${written}`);
  if (!name) {
    throw modelNotFound(
      `The model '${written}' does not exist. Name it 'provider/model' with provider one of ${[...ONLINE_PROVIDERS, 'local'].join(', ')}, or map the name to one in MODEL_ALIASES.`,
    );
  }
  if (transport && name.transport !== transport) {
    throw invalidRequest(`'agent_type' is '${transport}' but the model '${written}' is served by the ${name.transport} agent.`, 'agent_type');
  }
  if (!offered(name, config)) {
    const variable = name.provider === 'local' ? 'key' : PROVIDER_KEY_VARIABLES[name.provider];
    throw modelNotFound(`The model '${written}' is not available: no ${variable} is configured for ${name.provider}.`);
  }
  return name;
}

function resolveBackups(request: ChatRequest, defaults: AgentDefaults | undefined, primary: ModelName, config: GatewayConfig): ModelName[] {
  const fromBody = request.fallback_models !== undefined;
  const written = request.fallback_models ?? defaults?.backup_models ?? [];
  const backups: ModelName[] = [];
  const seen = new Set([primary.full]);
  for (const [index, asked] of written.entries()) {
    const full = unalias(asked, config);
    const name = parseModelName(full);
    if (!name) {
      // The caller's own list is checked; a stored list was checked when it was saved.
      const problem = modelIdProblem(full) ?? "is not 'provider/model' with a known provider";
      if (fromBody) throw invalidRequest(`Invalid value for 'fallback_models[${index}]': '${full}' ${problem}.`, `fallback_models[${index}]`);
      continue;
    }
    if (seen.has(name.full) || !offered(name, config)) continue;
    seen.add(name.full);
    backups.push(name);
  }
  return backups;
}

function defaultModelFor(transport: Transport, defaults: AgentDefaults): string | undefined {
  return transport === 'online' ? defaults.default_online_model : defaults.default_local_model;
}

/**
 * The model a request without `model` gets: the default of the preferred
 * transport, else (when the request did not insist on a transport with
 * `agent_type`) the other transport's default, rather than a 400.
 */
function defaultPrimary(request: ChatRequest, defaults: AgentDefaults | undefined, config: GatewayConfig): ModelName {
  const insisted = request.agent_type;
  const preferred = insisted ?? defaults?.preferred_transport ?? config.defaultTransport;
  if (!defaults) {
    // No settings to read (no database, or it is down): saying "none is set" would be wrong.
    throw invalidRequest('You must provide a model parameter: the default model comes from the settings, which are not available right now.', 'model');
  }
  const other: Transport = preferred === 'online' ? 'local' : 'online';
  const transport = insisted !== undefined || defaultModelFor(preferred, defaults) !== undefined ? preferred : other;
  const written = defaultModelFor(transport, defaults);
  if (!written) {
    const which = insisted ? `${insisted} model` : 'online or local model';
    throw invalidRequest(`You must provide a model parameter (no default ${which} is set in the settings).`, 'model');
  }
  return resolvePrimary(written, transport, config);
}

/** The primary and backup models for `request`; throws 400/404 naming `model` when none fits. */
export function selectModels(request: ChatRequest, defaults: AgentDefaults | undefined, config: GatewayConfig): ModelSelection {
  const primary = request.model !== undefined ? resolvePrimary(request.model, request.agent_type, config) : defaultPrimary(request, defaults, config);
  return { transport: primary.transport, primary, backups: resolveBackups(request, defaults, primary, config) };
}
