/**
 * The OpenAI response shapes the gateway emits, plus the `agent` metadata that
 * every completion carries (body field and `x-agent-*` headers).
 */
import type { FinishReason, TokenLogprob, Usage } from './chat-events.ts';
import type { ToolCall } from './chat-request.ts';

export type Backend = 'online' | 'local';

export interface AttemptRecord {
  provider: string;
  /** Full `provider/model`. */
  model_id: string;
  /** HTTP status the attempt ended with (200 for success; 0 when no response). */
  status: number;
  /** `null` on success; else the error's type/code (`rate_limit_error`, `timeout`, `bridge_offline`, …). */
  error_type: string | null;
  latency_ms: number;
}

export interface AgentMetadata {
  backend: Backend;
  provider: string;
  /** Full `provider/model` that served. */
  model_id: string;
  latency_ms: number;
  attempts: AttemptRecord[];
  /**
   * The archives a downstream RAG step should search by default: the user's
   * settings' `rag_archives`, present only when they list any. The gateway
   * itself searches nothing; it passes the choice on with the answer.
   */
  rag_archives?: string[];
}

/** A choice's `logprobs`: the answer's tokens (OpenAI's shape; `refusal` tokens are never reported). */
export interface ChoiceLogprobs {
  content: TokenLogprob[];
  refusal: null;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: { role: 'assistant'; content: string | null; refusal: string | null; tool_calls?: ToolCall[]; reasoning_content?: string };
    logprobs: ChoiceLogprobs | null;
    finish_reason: FinishReason;
  }>;
  usage?: Usage;
  agent: AgentMetadata;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    delta: {
      role?: 'assistant';
      content?: string;
      refusal?: string;
      reasoning_content?: string;
      tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }>;
    };
    logprobs: ChoiceLogprobs | null;
    finish_reason: FinishReason | null;
  }>;
  usage?: Usage | null;
}

/** Metadata headers, same names on streaming and non-streaming responses. */
export const AGENT_HEADERS = {
  backend: 'x-agent-backend',
  provider: 'x-agent-provider',
  model: 'x-agent-model',
  attempts: 'x-agent-attempts',
  latency: 'x-agent-latency-ms',
  /** Comma-separated; each id percent-encoded where a header could not carry it (functions/http/agent-headers.ts). */
  ragArchives: 'x-agent-rag-archives',
} as const;
