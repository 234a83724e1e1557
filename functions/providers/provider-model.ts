/**
 * How the agents get at the cloud providers. Each provider folder implements
 * `ProviderAdapter`; `index.ts` maps provider names to adapters.
 */
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { NativeRequest } from '../../protocol/native-passthrough.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { ProviderConfig } from '../config.ts';

export interface ProviderAdapter {
  /** A ChatModel for `model` (the upstream's own name, e.g. `gpt-4o`). */
  createModel(config: ProviderConfig, model: string, deps: RuntimeDeps): ChatModel;
  /** The model ids the provider's own models endpoint reports (without the provider prefix). */
  listModels(config: ProviderConfig, deps: RuntimeDeps, signal: AbortSignal): Promise<string[]>;
  /**
   * The provider's own token count for a request in its native format (Anthropic's
   * `count_tokens`), for `model` (the upstream's name); absent where the provider has none.
   */
  countTokens?(config: ProviderConfig, model: string, native: NativeRequest, deps: RuntimeDeps, signal: AbortSignal): Promise<number>;
}
