/**
 * The Worker's Hono app: middleware, routes, and the error rendering that
 * gives every path the OpenAI error shape. `createApp` takes its collaborators
 * as options so tests can swap the clock, the breaker or the local model.
 */
import { Hono } from 'hono';
import type { ChatModel } from '../protocol/chat-model.ts';
import type { OnlineProvider } from '../protocol/model-name.ts';
import { defaultRuntimeDeps, type RuntimeDeps } from '../protocol/runtime-deps.ts';
import type { FallbackPolicy } from './agents/agent-types.ts';
import { createBridgeOfflineModel } from './agents/bridge-offline-model.ts';
import type { CircuitBreaker } from './agents/circuit-breaker.ts';
import type { AgentDefaults } from './agents/model-selection.ts';
import type { Env } from './config.ts';
import { errorShapeFor, renderErrors, renderNotFound, type GatewayLogger } from './http/error-response.ts';
import { requireGatewayKey } from './middleware/gateway-auth.ts';
import { bodyLimit, MAX_BODY_BYTES } from './middleware/body-limit.ts';
import { methodNotAllowed } from './middleware/method-not-allowed.ts';
import { requestLog } from './middleware/request-log.ts';
import { providerAdapters } from './providers/index.ts';
import type { ProviderAdapter } from './providers/provider-model.ts';
import type { AgentRouteOptions } from './routes/agent-run.ts';
import { chatCompletions } from './routes/chat-completions.ts';
import { health } from './routes/health.ts';
import { messages } from './routes/messages.ts';
import { messagesCountTokens } from './routes/messages-count-tokens.ts';
import { createModelCatalog, type LocalModelEntry } from './routes/model-catalog.ts';
import { listModels, retrieveModel } from './routes/models.ts';
import { createResponse } from './routes/responses.ts';
import { deleteResponse, retrieveResponse } from './routes/responses-stored.ts';
import { settingsRoutes } from './routes/settings.ts';
import { bridgeConnectRoutes, bridgeStatusRoutes } from './routes/bridge.ts';

export interface AppOptions {
  deps?: RuntimeDeps;
  adapters?: Record<OnlineProvider, ProviderAdapter>;
  /** A ChatModel for `local/<modelId>`; default: the bridge is offline. */
  createLocalModel?: (env: Env, modelId: string) => ChatModel;
  /** The bridge's models (connected or last seen) for `/v1/models`; default: none. */
  listLocalModels?: (env: Env) => Promise<LocalModelEntry[]>;
  /** The user's settings for agent selection; default: none (env defaults apply). */
  loadAgentDefaults?: (env: Env) => Promise<AgentDefaults | undefined>;
  policy?: FallbackPolicy;
  /** Default: the isolate's shared breaker. */
  breaker?: CircuitBreaker;
  log?: GatewayLogger;
  maxBodyBytes?: number;
  keepAliveMs?: number;
  modelsCacheTtlMs?: number;
}

export type GatewayApp = Hono<{ Bindings: Env }>;

/** The app with every route; one per isolate in production. */
export function createApp(options: AppOptions = {}): GatewayApp {
  const deps = options.deps ?? defaultRuntimeDeps;
  const log = options.log ?? ((line: string) => console.log(line));
  const adapters = options.adapters ?? providerAdapters;
  const app: GatewayApp = new Hono<{ Bindings: Env }>();

  app.use('*', requestLog(log, deps));
  // A known path with a method it has no route for: 405 with `Allow`, worked out from the routes below.
  app.use('*', methodNotAllowed(app));
  app.get('/health', health);

  app.use('/v1/*', requireGatewayKey({ acceptsXApiKey: (path) => errorShapeFor(path) === 'anthropic' }));
  // Every model-serving surface runs on the same agent layer with the same collaborators.
  const agentRoutes: AgentRouteOptions = {
    adapters,
    createLocalModel: options.createLocalModel ?? ((_env, modelId) => createBridgeOfflineModel(modelId)),
    loadAgentDefaults: options.loadAgentDefaults ?? (async () => undefined),
    deps,
    policy: options.policy,
    breaker: options.breaker,
    keepAliveMs: options.keepAliveMs,
  };
  // Each route that reads a body has it bounded first, before a byte reaches the handler.
  const limit = bodyLimit(options.maxBodyBytes ?? MAX_BODY_BYTES);
  app.post('/v1/chat/completions', limit, chatCompletions(agentRoutes));
  app.post('/v1/messages', limit, messages(agentRoutes));
  app.post('/v1/messages/count_tokens', limit, messagesCountTokens(agentRoutes));
  const models = createModelCatalog({ adapters, listLocalModels: options.listLocalModels, deps, log, cacheTtlMs: options.modelsCacheTtlMs });
  app.get('/v1/models', listModels(models));
  // `{.+}`: model ids contain slashes (`local/mlx-community/…`).
  app.get('/v1/models/:id{.+}', retrieveModel(models));
  app.post('/v1/responses', limit, createResponse(agentRoutes));
  app.get('/v1/responses/:id', retrieveResponse(deps));
  app.delete('/v1/responses/:id', deleteResponse(deps));

  app.route('/v1/settings', settingsRoutes);
  // GET /v1/bridge, behind the gateway key above.
  app.route('/', bridgeStatusRoutes);
  // GET /bridge/connect: the bridge's own token, checked before the Durable Object is touched.
  app.route('/', bridgeConnectRoutes);

  app.notFound(renderNotFound);
  app.onError(renderErrors(log));
  return app;
}
