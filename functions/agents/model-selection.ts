/**
 * Which model serves a request, and which back it up: explicit `agent_type`,
 * else the model's provider prefix, else (no model) the user's settings, else
 * AGENT_DEFAULT_TRANSPORT with the matching default model. Pure: no I/O.
 */
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { GatewayError, invalidRequest } from '../../protocol/gateway-error.ts';
import { ONLINE_PROVIDERS, parseModelName, type ModelName, type Transport } from '../../protocol/model-name.ts';
import type { GatewayConfig } from '../config.ts';

/** The user's choices the factory honours (snake_case, as the settings API names them). */
export interface AgentDefaults {
  preferred_transport?: Transport;
  default_online_model?: string;
  default_local_model?: string;
  backup_models?: string[];
}

export interface ModelSelection {
  transport: Transport;
  primary: ModelName;
  /** Only models that can be offered (online ones need their provider's key), without the primary. */
  backups: ModelName[];
}

const KEY_NAMES: Record<string, string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', xai: 'XAI_API_KEY', groq: 'GROQ_API_KEY' };

function modelNotFound(message: string): GatewayError {
  return new GatewayError({ status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model', message, callerFault: true });
}

function offered(name: ModelName, config: GatewayConfig): boolean {
  return name.transport === 'local' || config.providers[name.provider as keyof GatewayConfig['providers']] !== undefined;
}

function resolvePrimary(written: string, transport: Transport | undefined, config: GatewayConfig): ModelName {
  let name = parseModelName(written);
  // `agent_type: "local"` with a bare id means that id on the bridge, as Ollama users would write it.
  if (!name && transport === 'local' && !written.includes('/')) name = parseModelName(`local/${written}`);
  if (!name) {
    throw modelNotFound(`The model '${written}' does not exist. Name it 'provider/model' with provider one of ${[...ONLINE_PROVIDERS, 'local'].join(', ')}.`);
  }
  if (transport && name.transport !== transport) {
    throw invalidRequest(`'agent_type' is '${transport}' but the model '${written}' is served by the ${name.transport} agent.`, 'agent_type');
  }
  if (!offered(name, config)) {
    throw modelNotFound(`The model '${written}' is not available: no ${KEY_NAMES[name.provider] ?? 'key'} is configured for ${name.provider}.`);
  }
  return name;
}

function resolveBackups(request: ChatRequest, defaults: AgentDefaults | undefined, primary: ModelName, config: GatewayConfig): ModelName[] {
  const fromBody = request.fallback_models !== undefined;
  const written = request.fallback_models ?? defaults?.backup_models ?? [];
  const backups: ModelName[] = [];
  const seen = new Set([primary.full]);
  for (const [index, full] of written.entries()) {
    const name = parseModelName(full);
    if (!name) {
      // The caller's own list is checked; a stored list was checked when it was saved.
      if (fromBody) throw invalidRequest(`Invalid value for 'fallback_models[${index}]': '${full}' is not 'provider/model' with a known provider.`, `fallback_models[${index}]`);
      continue;
    }
    if (seen.has(name.full) || !offered(name, config)) continue;
    seen.add(name.full);
    backups.push(name);
  }
  return backups;
}

/** The primary and backup models for `request`; throws 400/404 naming `model` when none fits. */
export function selectModels(request: ChatRequest, defaults: AgentDefaults | undefined, config: GatewayConfig): ModelSelection {
  let primary: ModelName;
  if (request.model !== undefined) {
    primary = resolvePrimary(request.model, request.agent_type, config);
  } else {
    const transport = request.agent_type ?? defaults?.preferred_transport ?? config.defaultTransport;
    const fallbackName = transport === 'online' ? defaults?.default_online_model : defaults?.default_local_model;
    if (!fallbackName) {
      throw invalidRequest(`You must provide a model parameter (no default ${transport} model is set in the settings).`, 'model');
    }
    primary = resolvePrimary(fallbackName, transport, config);
  }
  return { transport: primary.transport, primary, backups: resolveBackups(request, defaults, primary, config) };
}
