import { describe, expect, it } from 'vitest';
import type { AgentMetadata } from '../../protocol/chat-response.ts';
import { agentHeaders, RAG_ARCHIVES_HEADER_MAX_BYTES, ragArchivesHeader } from './agent-headers.ts';

const served: AgentMetadata = { backend: 'online', provider: 'openai', model_id: 'openai/gpt-4o', latency_ms: 12.4, attempts: [] };

/** What a client does with the header. */
function decode(header: string): string[] {
  return header.split(',').map((part) => decodeURIComponent(part));
}

describe('x-agent-rag-archives', () => {
  it('keeps plain ASCII ids as written and percent-encodes only what a header or a comma list cannot carry', () => {
    const ids = ['notes-2026', '~/Documents/papers.zip', 'a,b', ' spaced ', '100%', '你好', '🦙', `it's "quoted"`];
    const header = ragArchivesHeader(ids);
    expect(header).toBe(`notes-2026,~/Documents/papers.zip,a%2Cb,%20spaced%20,100%25,%E4%BD%A0%E5%A5%BD,%F0%9F%A6%99,it's%20"quoted"`);
    expect(decode(header ?? '')).toEqual(ids);
    // A Headers object takes it as it is (bytes only, no control characters).
    expect(new Headers({ 'x-agent-rag-archives': header ?? '' }).get('x-agent-rag-archives')).toBe(header);
  });

  it('is left out, not cut, when the list would pass the header budget; the body field keeps the whole list', () => {
    const fits = Array.from({ length: 16 }, (_, index) => `${index}`.padStart(500, 'x'));
    expect(ragArchivesHeader(fits)?.length).toBeLessThanOrEqual(RAG_ARCHIVES_HEADER_MAX_BYTES);
    const tooMany = Array.from({ length: 64 }, (_, index) => `${index}`.padStart(512, 'x'));
    expect(ragArchivesHeader(tooMany)).toBeUndefined();
    expect(agentHeaders({ ...served, rag_archives: tooMany })).not.toHaveProperty('x-agent-rag-archives');
  });

  it('is absent with no archives, and the other headers are as they were', () => {
    expect(agentHeaders(served)).toEqual({
      'x-agent-backend': 'online',
      'x-agent-provider': 'openai',
      'x-agent-model': 'openai/gpt-4o',
      'x-agent-attempts': '0',
      'x-agent-latency-ms': '12',
    });
    expect(agentHeaders({ ...served, rag_archives: [] })).not.toHaveProperty('x-agent-rag-archives');
    expect(agentHeaders({ ...served, rag_archives: ['notes'] })).toMatchObject({ 'x-agent-rag-archives': 'notes' });
  });
});
