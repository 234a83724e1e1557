/**
 * The models the gateway offers: for each provider that has a key, the models
 * its API reports (or `AGENT_ONLINE_ENDPOINTS[p].models`), as `provider/<id>`,
 * plus the bridge's models as `local/<id>`, plus each MODEL_ALIASES name whose
 * target can be offered, listed as itself. `GET /v1/models` lists them and
 * `GET /v1/models/{id}` looks one up, so both answer from this one definition.
 * Each provider's list is cached briefly per isolate.
 */
import { GatewayError } from '../../protocol/gateway-error.ts';
import { parseModelName, type OnlineProvider } from '../../protocol/model-name.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import { startTimer } from '../../protocol/time.ts';
import { getConfig, type Env, type GatewayConfig, type ProviderConfig } from '../config.ts';
import type { GatewayLogger } from '../http/error-response.ts';
import type { ProviderAdapter } from '../providers/provider-model.ts';

/** One model, as OpenAI's list and retrieve answer it. */
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

export interface ModelCatalogOptions {
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

export interface ModelCatalog {
  /** Every model offered; a provider whose list fails is left out (and logged). */
  list(env: Env): Promise<ModelEntry[]>;
  /** The entry named `id`, or undefined when it is not offered; asks only the source `id` names. */
  find(env: Env, id: string): Promise<ModelEntry | undefined>;
}

export const MODELS_CACHE_TTL_MS = 60_000;
export const MODELS_TIMEOUT_MS = 5_000;

interface CachedList {
  expiresAt: number;
  ids: string[];
}

function onlineEntry(provider: ProviderConfig, id: string): ModelEntry {
  return { id: `${provider.provider}/${id}`, object: 'model', created: 0, owned_by: provider.provider };
}

/** The entry of an alias, owned by whoever serves its target; undefined when the target is not offered. */
function aliasEntry(config: GatewayConfig, alias: string): ModelEntry | undefined {
  const target = parseModelName(config.aliases.get(alias) ?? '');
  if (!target) return undefined;
  if (target.provider !== 'local' && !config.providers[target.provider]) return undefined;
  return { id: alias, object: 'model', created: 0, owned_by: target.provider };
}

function localEntry(model: LocalModelEntry): ModelEntry {
  // The tunnel already reports `offline` as the state of a last-seen model.
  return { id: model.id, object: 'model', created: 0, owned_by: model.runner, status: model.state };
}

/** The catalog; its cache lives as long as the catalog (one per isolate). */
export function createModelCatalog(options: ModelCatalogOptions): ModelCatalog {
  const { deps } = options;
  const cache = new Map<string, CachedList>();
  const ttl = options.cacheTtlMs ?? MODELS_CACHE_TTL_MS;
  const timeoutMs = options.timeoutMs ?? MODELS_TIMEOUT_MS;

  async function fetchIds(provider: ProviderConfig): Promise<string[]> {
    const controller = new AbortController();
    const timeout = new GatewayError({ status: 504, type: 'timeout_error', code: 'timeout', retryable: true, message: `${provider.provider} did not list its models within ${timeoutMs} ms.` });
    const timer = startTimer(timeoutMs, deps, () => controller.abort(timeout));
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

  async function localEntries(env: Env): Promise<ModelEntry[]> {
    if (!options.listLocalModels) return [];
    return (await options.listLocalModels(env)).map(localEntry);
  }

  return {
    async list(env) {
      const providers = Object.values(getConfig(env).providers);
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
        for (const id of list.value) data.push(onlineEntry(provider, id));
      });
      try {
        data.push(...(await localEntries(env)));
      } catch {
        options.log('[models] the bridge model list is unavailable; local models left out');
      }
      const config = getConfig(env);
      for (const alias of config.aliases.keys()) {
        const entry = aliasEntry(config, alias);
        if (entry) data.push(entry);
      }
      return data;
    },

    async find(env, id) {
      const config = getConfig(env);
      if (config.aliases.has(id)) return aliasEntry(config, id);
      const name = parseModelName(id);
      if (!name) return undefined;
      // A failing source is an error here, not "no such model": the client may retry.
      if (name.provider === 'local') {
        const entries = await localEntries(env).catch((error: unknown) => {
          throw GatewayError.isInstance(error)
            ? error
            : new GatewayError({ status: 503, type: 'service_unavailable', code: 'bridge_status_unavailable', message: "The bridge's model list cannot be read right now; try again shortly", retryable: true, cause: error });
        });
        return entries.find((entry) => entry.id === id);
      }
      const provider = config.providers[name.provider];
      if (!provider) return undefined; // no key: not offered
      const ids = await idsOf(provider);
      return ids.includes(name.model) ? onlineEntry(provider, name.model) : undefined;
    },
  };
}
