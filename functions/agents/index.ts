/** The agents' public face: the factory, the agent classes and their result shape. */
export { createAgent, modelResolver, LOCAL_ATTEMPT_TIMEOUT_MS, type AgentFactoryOptions } from './factory.ts';
export { BaseAgent, type AgentOptions, type ModelResolver, type ResolvedModel } from './base-agent.ts';
export { OnlineAgent } from './online-agent.ts';
export { LocalAgent } from './local-agent.ts';
export { selectModels, type AgentDefaults, type ModelSelection } from './model-selection.ts';
export { fallbackPolicy, DEFAULT_FALLBACK_POLICY, type AgentResult, type AgentCandidate, type FallbackPolicy } from './agent-types.ts';
export { CircuitBreaker, isolateCircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.ts';
export { createBridgeOfflineModel, bridgeOffline, BRIDGE_OFFLINE_RETRY_AFTER_MS } from './bridge-offline-model.ts';
export { LlamaAgent, Gpt4Agent, LEGACY_LLAMA_MODEL, LEGACY_GPT4_MODEL, type LegacyAgentRequest } from './legacy-agents.ts';
