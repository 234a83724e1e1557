/**
 * `POST /v1/chat/completions`: body read under the size limit, validated,
 * handed to the agent the factory picks, and answered as SSE or JSON with the
 * metadata of the model that served. Errors are thrown for `app.onError`.
 */
import type { Handler } from 'hono';
import type { ChatModel } from '../../protocol/chat-model.ts';
import { chatRequestSchema } from '../../protocol/chat-request.ts';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { parseOrThrow } from '../../protocol/validate.ts';
import type { FallbackPolicy } from '../agents/agent-types.ts';
import type { CircuitBreaker } from '../agents/circuit-breaker.ts';
import { linkAbort } from '../agents/deadlines.ts';
import { createAgent } from '../agents/factory.ts';
import type { AgentDefaults } from '../agents/model-selection.ts';
import { getConfig, type Env } from '../config.ts';
import { agentHeaders } from '../http/agent-headers.ts';
import { completionId, createdSeconds } from '../http/completion-id.ts';
import { collectCompletion } from '../http/json-response.ts';
import { sseResponse } from '../http/sse-response.ts';
import { scrubbedErrorBody, scrubFor } from '../middleware/error-response.ts';
import { readJsonBody } from '../middleware/json-body.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';

export interface ChatCompletionsOptions {
  adapters: Record<OnlineProvider, ProviderAdapter>;
  /** A ChatModel for `local/<modelId>` in this env (the bridge tunnel). */
  createLocalModel: (env: Env, modelId: string) => ChatModel;
  /** The user's settings for agent selection; undefined when unavailable. */
  loadAgentDefaults: (env: Env) => Promise<AgentDefaults | undefined>;
  deps: RuntimeDeps;
  policy?: FallbackPolicy;
  breaker?: CircuitBreaker;
  maxBodyBytes: number;
  keepAliveMs?: number;
}

/** The route's handler. */
export function chatCompletions(options: ChatCompletionsOptions): Handler<{ Bindings: Env }> {
  const { deps } = options;
  return async (c) => {
    const config = getConfig(c.env);
    const request = parseOrThrow(chatRequestSchema, await readJsonBody(c.req.raw, options.maxBodyBytes));
    const defaults = await options.loadAgentDefaults(c.env);
    const agent = createAgent(request, defaults, {
      config,
      adapters: options.adapters,
      createLocalModel: (modelId) => options.createLocalModel(c.env, modelId),
      deps,
      policy: options.policy,
      breaker: options.breaker,
    });

    // Ours, so the response stream can abort the upstream too when the client stops reading.
    const client = new AbortController();
    const unlink = linkAbort(c.req.raw.signal, client);
    const result = await agent.run(request, client.signal).catch((error: unknown) => {
      unlink();
      throw error;
    });
    const headers = agentHeaders(result.metadata);
    const id = completionId(deps);
    const created = createdSeconds(deps);

    if (request.stream === true) {
      return sseResponse(result, {
        identity: { id, created, model: result.metadata.model_id, includeUsage: request.stream_options?.include_usage === true },
        headers,
        deps,
        errorBody: (error) => scrubbedErrorBody(error, scrubFor(c.env)),
        keepAliveMs: options.keepAliveMs,
        onEnd: (outcome) => {
          if (outcome === 'cancelled') client.abort();
          unlink();
        },
      });
    }
    try {
      return c.json(await collectCompletion(result, { id, created }), 200, headers);
    } finally {
      unlink();
    }
  };
}
