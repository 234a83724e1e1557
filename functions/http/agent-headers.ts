/** The `x-agent-*` response headers: who served, after how many attempts, how fast, which archives. */
import { AGENT_HEADERS, type AgentMetadata } from '../../protocol/chat-response.ts';

/** Upstream calls actually made: a target skipped by its open breaker was not called. */
export function upstreamAttemptCount(metadata: AgentMetadata): number {
  return metadata.attempts.filter((attempt) => attempt.error_type !== 'circuit_open').length;
}

// An archive id may hold any character but a control one (db/settings-dto.ts):
// commas, spaces, `%` and non-ASCII (a header value is bytes, workerd refuses
// more than Latin-1) are percent-encoded, so splitting on `,` and
// decodeURIComponent on each part gives the ids back exactly.
const UNSAFE_IN_LIST = /[^\x21-\x7e]|[%,]/gu;

/**
 * The most `x-agent-rag-archives` may take. The settings allow 64 ids of 512
 * characters, tens of KiB once encoded, and Node's HTTP clients refuse a
 * response whose headers pass 16 KiB: a long list must never break the answer.
 */
export const RAG_ARCHIVES_HEADER_MAX_BYTES = 8 * 1024;

/**
 * `x-agent-rag-archives`: the ids, comma-separated, each readable as written
 * when it is plain ASCII; undefined when the list does not fit the header
 * (the body's `agent.rag_archives` and GET /v1/settings still have it whole).
 */
export function ragArchivesHeader(archives: readonly string[]): string | undefined {
  const value = archives.map((archive) => archive.replace(UNSAFE_IN_LIST, (character) => encodeURIComponent(character))).join(',');
  return value.length <= RAG_ARCHIVES_HEADER_MAX_BYTES ? value : undefined;
}

/** The metadata headers, identical for streaming and non-streaming responses. */
export function agentHeaders(metadata: AgentMetadata): Record<string, string> {
  const headers: Record<string, string> = {
    [AGENT_HEADERS.backend]: metadata.backend,
    [AGENT_HEADERS.provider]: metadata.provider,
    [AGENT_HEADERS.model]: metadata.model_id,
    [AGENT_HEADERS.attempts]: String(upstreamAttemptCount(metadata)),
    [AGENT_HEADERS.latency]: String(Math.max(0, Math.round(metadata.latency_ms))),
  };
  const archives = metadata.rag_archives && metadata.rag_archives.length > 0 ? ragArchivesHeader(metadata.rag_archives) : undefined;
  if (archives !== undefined) headers[AGENT_HEADERS.ragArchives] = archives;
  return headers;
}
