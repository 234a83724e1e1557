/**
 * What distinguishes OpenAI, xAI and Groq: data only. One implementation reads
 * these profiles; docs/providers.md lists the same facts for users.
 */
import type { ChatRequest } from '../../../protocol/chat-request.ts';

export type OpenAICompatibleProvider = 'openai' | 'xai' | 'groq';
export type RequestField = keyof ChatRequest;

export interface ModelRule {
  /** Matches the upstream model name (`grok-4`, `grok-3-mini-fast`). */
  pattern: RegExp;
  refusedFields: readonly RequestField[];
  /** Why, for the error message. */
  reason: string;
}

export interface OpenAICompatibleProfile {
  provider: OpenAICompatibleProvider;
  /** Ask for the usage chunk with `stream_options.include_usage`. */
  sendsStreamUsageOption: boolean;
  /** Fields answered with a 400 naming them, before any upstream call. */
  refusedFields: readonly RequestField[];
  /** Refuse `messages[].name`. */
  refusesMessageName: boolean;
  /** Stricter rules for some models. */
  modelRules: readonly ModelRule[];
}

/** Sampling knobs of local runners (mlx-lm, vLLM) that no OpenAI-compatible cloud accepts. */
const LOCAL_ONLY_FIELDS: readonly RequestField[] = ['top_k', 'min_p', 'repetition_penalty'];

export const OPENAI_PROFILE: OpenAICompatibleProfile = {
  provider: 'openai',
  sendsStreamUsageOption: true,
  refusedFields: LOCAL_ONLY_FIELDS,
  refusesMessageName: false,
  modelRules: [],
};

export const XAI_PROFILE: OpenAICompatibleProfile = {
  provider: 'xai',
  sendsStreamUsageOption: true,
  refusedFields: LOCAL_ONLY_FIELDS,
  refusesMessageName: false,
  // xAI: reasoning models answer 400 to presence_penalty, frequency_penalty and stop.
  modelRules: [
    {
      pattern: /^grok-(?:4(?!-fast-non-reasoning)|3-mini|code)/,
      refusedFields: ['presence_penalty', 'frequency_penalty', 'stop'],
      reason: 'xAI reasoning models do not support it',
    },
  ],
};

export const GROQ_PROFILE: OpenAICompatibleProfile = {
  provider: 'groq',
  // Groq reports usage in `x_groq.usage` on the last chunk whether asked or not,
  // and older Groq deployments refused `stream_options`; not sending it works either way.
  sendsStreamUsageOption: false,
  refusedFields: [...LOCAL_ONLY_FIELDS, 'logprobs', 'top_logprobs', 'logit_bias', 'n'],
  refusesMessageName: true,
  modelRules: [],
};

export const OPENAI_COMPATIBLE_PROFILES: Record<OpenAICompatibleProvider, OpenAICompatibleProfile> = {
  openai: OPENAI_PROFILE,
  xai: XAI_PROFILE,
  groq: GROQ_PROFILE,
};
