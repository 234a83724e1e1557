/**
 * What distinguishes OpenAI, xAI and Groq: data only. One implementation reads
 * these profiles; docs/providers.md lists the same facts for users.
 */
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import type { UsageMeaning } from '../../../protocol/openai-chat-wire.ts';

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
  /** What its `completion_tokens` counts; the stream translator turns it into OpenAI's meaning. */
  usageMeaning: UsageMeaning;
  /** Fields answered with a 400 naming them, before any upstream call. */
  refusedFields: readonly RequestField[];
  /** Hints that change nothing in the answer and that the provider does not take: never sent. */
  droppedFields: readonly RequestField[];
  /** Refuse `messages[].name`. */
  refusesMessageName: boolean;
  /** Stricter rules for some models. */
  modelRules: readonly ModelRule[];
}

/** Sampling knobs of local runners (mlx-lm, vLLM) that no OpenAI-compatible cloud accepts. */
const LOCAL_ONLY_FIELDS: readonly RequestField[] = ['top_k', 'min_p', 'repetition_penalty', 'chat_template_kwargs'];
/** OpenAI's own features that would change the answer, which xAI and Groq do not offer. */
const OPENAI_ONLY_FIELDS: readonly RequestField[] = ['verbosity', 'web_search_options', 'audio'];
/** OpenAI's hints (caching, predicted output, abuse tracking, text-only output): harmless to leave out. */
const OPENAI_ONLY_HINTS: readonly RequestField[] = ['prompt_cache_key', 'prediction', 'safety_identifier', 'modalities'];

export const OPENAI_PROFILE: OpenAICompatibleProfile = {
  provider: 'openai',
  sendsStreamUsageOption: true,
  usageMeaning: 'openai',
  refusedFields: LOCAL_ONLY_FIELDS,
  droppedFields: [],
  refusesMessageName: false,
  modelRules: [],
};

export const XAI_PROFILE: OpenAICompatibleProfile = {
  provider: 'xai',
  sendsStreamUsageOption: true,
  // xAI's completion_tokens leaves out the reasoning tokens that its total_tokens counts.
  usageMeaning: 'excludes-reasoning',
  refusedFields: [...LOCAL_ONLY_FIELDS, ...OPENAI_ONLY_FIELDS],
  droppedFields: OPENAI_ONLY_HINTS,
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
  usageMeaning: 'openai',
  refusedFields: [...LOCAL_ONLY_FIELDS, ...OPENAI_ONLY_FIELDS, 'logprobs', 'top_logprobs', 'logit_bias', 'n'],
  droppedFields: OPENAI_ONLY_HINTS,
  refusesMessageName: true,
  modelRules: [],
};

export const OPENAI_COMPATIBLE_PROFILES: Record<OpenAICompatibleProvider, OpenAICompatibleProfile> = {
  openai: OPENAI_PROFILE,
  xai: XAI_PROFILE,
  groq: GROQ_PROFILE,
};
