/**
 * The one way a route hands a chat request to the agent layer: the user's
 * settings read, the agent the factory picks, and the client's cancellation
 * linked to the upstream. Chat Completions, Responses and Messages all come
 * through here, so each surface gets the same fallback chain, commit point,
 * deadlines and metadata (one chain, never a second one per API).
 */
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { ChatRequest } from '../../protocol/chat-request.ts';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import type { NativeRequest } from '../../protocol/native-passthrough.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { AgentResult, FallbackPolicy } from '../agents/agent-types.ts';
import type { CircuitBreaker } from '../agents/circuit-breaker.ts';
import { linkAbort } from '../../protocol/time.ts';
import { createAgent } from '../agents/factory.ts';
import type { AgentDefaults } from '../agents/model-selection.ts';
import { getConfig, type Env } from '../config.ts';
import { agentHeaders } from '../http/agent-headers.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';

/** What every model-serving route is built with (`app.ts` fills it in once). */
export interface AgentRouteOptions {
  adapters: Record<OnlineProvider, ProviderAdapter>;
  /** A ChatModel for `local/<modelId>` in this env (the bridge tunnel). */
  createLocalModel: (env: Env, modelId: string) => ChatModel;
  /** The user's settings for agent selection; undefined when unavailable. */
  loadAgentDefaults: (env: Env) => Promise<AgentDefaults | undefined>;
  deps: RuntimeDeps;
  policy?: FallbackPolicy;
  breaker?: CircuitBreaker;
  keepAliveMs?: number;
}

/** A committed agent run, as a route answers it. */
export interface AgentRun {
  result: AgentResult;
  /** The `x-agent-*` headers of the model that served. */
  headers: Record<string, string>;
  /** Stops the upstream (the client went away mid-stream). */
  cancel: () => void;
  /** Unhooks the client's signal; call once the answer is finished either way. */
  release: () => void;
}

/**
 * The settings' archives for a downstream RAG step, added to the metadata of
 * every surface's answer (body and `x-agent-rag-archives`) when there are any.
 * Added here, not in the agent: they are the user's, whichever model served.
 */
function withRagArchives(result: AgentResult, defaults: AgentDefaults | undefined): AgentResult {
  const archives = defaults?.rag_archives;
  if (!archives || archives.length === 0) return result;
  return { ...result, metadata: { ...result.metadata, rag_archives: [...archives] } };
}

/**
 * Runs `request` through the agent the factory picks, up to the commit point.
 * `native`: the client's own body, for the candidates that take its format
 * natively (protocol/native-passthrough.ts); the others get `request`.
 */
export async function runAgent(env: Env, clientSignal: AbortSignal, request: ChatRequest, options: AgentRouteOptions, native?: NativeRequest): Promise<AgentRun> {
  const config = getConfig(env);
  const defaults = await options.loadAgentDefaults(env);
  const agent = createAgent(request, defaults, {
    config,
    adapters: options.adapters,
    createLocalModel: (modelId) => options.createLocalModel(env, modelId),
    deps: options.deps,
    policy: options.policy,
    breaker: options.breaker,
  });

  // Ours, so the response stream can abort the upstream too when the client stops reading.
  const client = new AbortController();
  const release = linkAbort(clientSignal, client);
  const run = await agent.run(request, client.signal, native).catch((error: unknown) => {
    release();
    throw error;
  });
  const result = withRagArchives(run, defaults);
  return { result, headers: agentHeaders(result.metadata), cancel: () => client.abort(), release };
}
