/**
 * Which models the bridge serves (docs/bridge.md, BRIDGE_ALLOW_DOWNLOADS): the
 * LOCAL_MODEL_PATHS entries, the models its config file names, models already
 * in the Hugging Face cache, and Hub repos matching BRIDGE_ALLOW_DOWNLOADS.
 * Anything else is a 404 `model_not_found` before anything is loaded, so a
 * request can neither read a folder nobody configured nor make the bridge
 * download a repo nobody allowed.
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { modelIdProblem } from '../../protocol/model-name.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import { allowsDownload } from '../download-globs.ts';

export interface OfferRules {
  /** LOCAL_MODEL_PATHS (with the config file's paths): model id → weights folder. */
  modelPaths: Readonly<Record<string, string>>;
  /** Ids the config file names for this runner (the user chose them: they may be downloaded). */
  configured: readonly string[];
  /** BRIDGE_ALLOW_DOWNLOADS globs. */
  allowDownloads: readonly string[];
}

/**
 * How an offered model is found: from its folder, from the Hub (downloaded
 * when missing), or only from the Hugging Face cache, never downloaded (the
 * worker asks huggingface_hub with `local_files_only`, and says
 * `not_offered` when the repo is not there).
 */
export type ModelOffer = { source: 'path'; path: string } | { source: 'hub' } | { source: 'cache' };

// What the Hub accepts as a repo id: `name` or `org/name`.
const HUB_REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** How `modelId` may be served under `rules`; `undefined` when this bridge does not offer it. */
export function modelOffer(modelId: string, rules: OfferRules): ModelOffer | undefined {
  if (modelIdProblem(modelId) !== undefined) return undefined;
  const path = rules.modelPaths[modelId];
  if (path !== undefined) return { source: 'path', path };
  if (!HUB_REPO_ID.test(modelId)) return undefined;
  if (rules.configured.includes(modelId) || allowsDownload(modelId, rules.allowDownloads)) return { source: 'hub' };
  return { source: 'cache' };
}

/** The 404 for a model this bridge does not offer, saying how to offer it. */
export function modelNotOffered(modelId: string): GatewayError {
  const org = modelId.includes('/') ? `${modelId.slice(0, modelId.indexOf('/'))}/*` : modelId;
  return tunnelError(
    'model_not_found',
    `This bridge does not offer the model '${modelId}': it is not in LOCAL_MODEL_PATHS, the bridge's config file or the Hugging Face cache. ` +
      `To serve it, add it to LOCAL_MODEL_PATHS ({"${modelId}": "/path/to/weights"}), or let the bridge download it from the Hugging Face Hub ` +
      `with BRIDGE_ALLOW_DOWNLOADS (e.g. BRIDGE_ALLOW_DOWNLOADS='${org}'; '*' allows any repo).`,
  );
}
