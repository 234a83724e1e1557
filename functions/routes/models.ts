/**
 * `GET /v1/models`: for each provider that has a key, the models its API
 * reports (or `AGENT_ONLINE_ENDPOINTS[p].models`), as `provider/<id>`, plus
 * the bridge's models as `local/<id>`. Each provider's list is cached briefly
 * per isolate; a provider that fails is left out rather than failing the list.
 */
import type { Handler } from 'hono';
import type { OnlineProvider } from '../../protocol/model-name.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { startTimer } from '../agents/deadlines.ts';
import { getConfig, type Env, type ProviderConfig } from '../config.ts';
import type { GatewayLogger } from '../middleware/error-response.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Local models only: `loaded`, `available`, … or `offline` when the bridge is not connected. */
  status?: string;
}

/** One model a connected or last-seen bridge offers. */
export interface LocalModelEntry {
  /** The full `local/<id>` name. */
  id: string;
  runner: string;
  state: string;
  online: boolean;
}

export interface ModelsOptions {
  adapters: Record<OnlineProvider, ProviderAdapter>;
  /** The bridge's models, connected or last seen; omitted when there is no tunnel. */
  listLocalModels?: (env: Env) => Promise<LocalModelEntry[]>;
  deps: RuntimeDeps;
  log: GatewayLogger;
  /** How long a provider's list is reused. */
  cacheTtlMs?: number;
  /** How long one provider may take to answer. */
  timeoutMs?: number;
}

export const MODELS_CACHE_TTL_MS = 60_000;
export const MODELS_TIMEOUT_MS = 5_000;

interface CachedList {
  expiresAt: number;
  ids: string[];
}

/** The route's handler; its cache lives as long as the handler (one per isolate). */
export function listModels(options: ModelsOptions): Handler<{ Bindings: Env }> {
  const { deps } = options;
  const cache = new Map<string, CachedList>();
  const ttl = options.cacheTtlMs ?? MODELS_CACHE_TTL_MS;
  const timeoutMs = options.timeoutMs ?? MODELS_TIMEOUT_MS;

  async function fetchIds(provider: ProviderConfig): Promise<string[]> {
    const controller = new AbortController();
    const timer = startTimer(timeoutMs, deps, () => controller.abort(new Error('timed out')));
    try {
      return await options.adapters[provider.provider].listModels(provider, deps, controller.signal);
    } finally {
      timer.cancel();
    }
  }

  async function idsOf(provider: ProviderConfig): Promise<string[]> {
    // Keyed by where the list comes from, so a changed endpoint is asked afresh.
    const key = `${provider.provider} ${provider.baseUrl} ${provider.models?.join(',') ?? ''}`;
    const cached = cache.get(key);
    if (cached && cached.expiresAt > deps.now()) return cached.ids;
    // Only a settled list is shared. workerd cancels a request that awaits a
    // promise another request created once that one ends ("The script will
    // never generate a response"), so concurrent misses each ask. A failure is
    // not remembered: the next request asks again.
    const ids = await fetchIds(provider);
    cache.set(key, { expiresAt: deps.now() + ttl, ids });
    return ids;
  }

  return async (c) => {
    const config = getConfig(c.env);
    const providers = Object.values(config.providers);
    const lists = await Promise.allSettled(providers.map((provider) => idsOf(provider)));
    const data: ModelEntry[] = [];
    lists.forEach((list, index) => {
      const provider = providers[index];
      if (!provider) return;
      if (list.status === 'rejected') {
        const code = typeof list.reason === 'object' && list.reason !== null && 'code' in list.reason ? String(list.reason.code) : 'error';
        options.log(`[models] ${provider.provider} left out of /v1/models: its model list failed (${code})`);
        return;
      }
      for (const id of list.value) data.push({ id: `${provider.provider}/${id}`, object: 'model', created: 0, owned_by: provider.provider });
    });
    if (options.listLocalModels) {
      try {
        for (const model of await options.listLocalModels(c.env)) {
          // The tunnel already reports `offline` as the state of a last-seen model.
          data.push({ id: model.id, object: 'model', created: 0, owned_by: model.runner, status: model.state });
        }
      } catch {
        options.log('[models] the bridge model list is unavailable; local models left out');
      }
    }
    return c.json({ object: 'list', data });
  };
}
