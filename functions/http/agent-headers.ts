/** The `x-agent-*` response headers: who served, after how many attempts, how fast. */
import { AGENT_HEADERS, type AgentMetadata } from '../../protocol/chat-response.ts';

/** Upstream calls actually made: a target skipped by its open breaker was not called. */
export function upstreamAttemptCount(metadata: AgentMetadata): number {
  return metadata.attempts.filter((attempt) => attempt.error_type !== 'circuit_open').length;
}

/** The metadata headers, identical for streaming and non-streaming responses. */
export function agentHeaders(metadata: AgentMetadata): Record<string, string> {
  return {
    [AGENT_HEADERS.backend]: metadata.backend,
    [AGENT_HEADERS.provider]: metadata.provider,
    [AGENT_HEADERS.model]: metadata.model_id,
    [AGENT_HEADERS.attempts]: String(upstreamAttemptCount(metadata)),
    [AGENT_HEADERS.latency]: String(Math.max(0, Math.round(metadata.latency_ms))),
  };
}
