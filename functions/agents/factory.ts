/**
 * Builds the agent for one completion request: picks the models
 * (`model-selection.ts`), makes them callable (provider adapters for online
 * names, the injected local model factory for `local/…`), and hands both to
 * an OnlineAgent or a LocalAgent.
 */
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { GatewayConfig } from '../config.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';
import type { FallbackPolicy } from './agent-types.ts';
import type { BaseAgent, ModelResolver } from './base-agent.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { LocalAgent } from './local-agent.ts';
import { selectModels, type AgentDefaults } from './model-selection.ts';
import { OnlineAgent } from './online-agent.ts';

/**
 * How long a local model may take to yield its first event while a backup
 * waits. Half the overall budget, so a hung bridge still leaves the backup a
 * full attempt; a longer cold load is fine when nothing is left to fall back
 * to, because the last candidate commits on its load progress.
 */
export const LOCAL_ATTEMPT_TIMEOUT_MS = 60_000;

export interface AgentFactoryOptions {
  config: GatewayConfig;
  adapters: Record<OnlineProvider, ProviderAdapter>;
  /** A ChatModel for `local/<modelId>` (the id after `local/`). */
  createLocalModel: (modelId: string) => ChatModel;
  deps?: RuntimeDeps;
  policy?: FallbackPolicy;
  breaker?: CircuitBreaker;
}

/** Makes model names callable with the configured providers and the local model factory. */
export function modelResolver(options: AgentFactoryOptions): ModelResolver {
  const deps = options.deps ?? defaultRuntimeDeps;
  return (name) => {
    if (name.provider === 'local') {
      return { model: options.createLocalModel(name.model), backend: 'local', attemptTimeoutMs: LOCAL_ATTEMPT_TIMEOUT_MS };
    }
    const provider = options.config.providers[name.provider];
    if (!provider) return undefined;
    return { model: options.adapters[name.provider].createModel(provider, name.model, deps), backend: 'online', attemptTimeoutMs: provider.timeoutMs };
  };
}

/** The agent that serves `request`; throws 400/404 GatewayErrors naming `model` when no model fits. */
export function createAgent(request: ChatRequest, defaults: AgentDefaults | undefined, options: AgentFactoryOptions): BaseAgent {
  const selection = selectModels(request, defaults, options.config);
  const agentOptions = {
    primary: selection.primary,
    backups: selection.backups,
    resolveModel: modelResolver(options),
    deps: options.deps,
    policy: options.policy,
    breaker: options.breaker,
  };
  return selection.transport === 'local' ? new LocalAgent(agentOptions) : new OnlineAgent(agentOptions);
}
