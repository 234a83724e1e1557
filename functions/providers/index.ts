/**
 * The cloud providers' public face: one ProviderAdapter per online provider,
 * and what agents and routes need to reason about provider failures.
 */
import type { OnlineProvider } from '../../protocol/model-name.ts';
import { anthropicAdapter } from './anthropic/anthropic-adapter.ts';
import { createOpenAICompatibleAdapter } from './openai-compatible/openai-compatible-adapter.ts';
import { GROQ_PROFILE, OPENAI_PROFILE, XAI_PROFILE } from './openai-compatible/openai-compatible-profiles.ts';
import type { ProviderAdapter } from './provider-model.ts';

export type { ProviderAdapter } from './provider-model.ts';
export { parseRetryAfterMs } from './shared/retry-after.ts';
export { scrubSecrets } from './shared/scrub-secrets.ts';
export { classifyStreamError, classifyUpstreamError } from './shared/classify-upstream-error.ts';
export { fetchUpstream, streamBroken, unreachable } from './shared/upstream-fetch.ts';
export { OPENAI_COMPATIBLE_PROFILES, type OpenAICompatibleProfile } from './openai-compatible/openai-compatible-profiles.ts';
export { DEFAULT_ANTHROPIC_MAX_TOKENS } from './anthropic/anthropic-request.ts';

/** The adapter that serves each online provider. */
export const providerAdapters: Record<OnlineProvider, ProviderAdapter> = {
  openai: createOpenAICompatibleAdapter(OPENAI_PROFILE),
  xai: createOpenAICompatibleAdapter(XAI_PROFILE),
  groq: createOpenAICompatibleAdapter(GROQ_PROFILE),
  anthropic: anthropicAdapter,
};
