/**
 * The shapes every agent shares: what `run` resolves with, what one candidate
 * model of a fallback chain is, and the timing policy the chain runs under.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { UpstreamChatRequest } from '../../protocol/chat-request.ts';
import type { AgentMetadata, Backend } from '../../protocol/chat-response.ts';
import type { NativeRequest } from '../../protocol/native-passthrough.ts';

/**
 * What an agent resolves with at the commit point: the serving model has
 * yielded its first event. `events` starts with that event; a later failure is
 * thrown from `events` as a GatewayError (the response is already committed).
 */
export interface AgentResult {
  metadata: AgentMetadata;
  events: AsyncIterable<ChatEvent>;
}

/** One model the fallback chain may try, with the request as that model wants it. */
export interface AgentCandidate {
  model: ChatModel;
  backend: Backend;
  /** The request as this model takes it (`UpstreamChatRequest`). */
  request: UpstreamChatRequest;
  /** Per-attempt deadline: how long this model may take to yield its first event. */
  attemptTimeoutMs: number;
  /** The client's own body, when this model takes its format natively (it is sent instead of `request`). */
  native?: NativeRequest;
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Retries of the same candidate after its first attempt. */
  maxRetries: number;
}

export interface FallbackPolicy {
  /** Budget for the whole request until a model commits: every attempt and every backoff. */
  overallTimeoutMs: number;
  /** Longest silence between two events once a model has committed. */
  idleTimeoutMs: number;
  backoff: BackoffPolicy;
  /** A Retry-After longer than this is not waited for: the chain moves to the next candidate. */
  retryAfterCapMs: number;
  /**
   * The least time worth giving a retry of the same target (or its own
   * deadline, when shorter): with less of the overall budget left after the
   * backoff, the chain moves on instead.
   */
  minAttemptMs: number;
}

/**
 * 120 s overall with 60 s attempts (online default and local): a primary that
 * hangs for its whole attempt still leaves a backup a full 60 s attempt.
 */
export const DEFAULT_FALLBACK_POLICY: FallbackPolicy = {
  overallTimeoutMs: 120_000,
  idleTimeoutMs: 30_000,
  backoff: { baseMs: 250, capMs: 4_000, maxRetries: 2 },
  retryAfterCapMs: 10_000,
  minAttemptMs: 5_000,
};

/** The default policy with some fields replaced. */
export function fallbackPolicy(overrides: Partial<FallbackPolicy> = {}): FallbackPolicy {
  return { ...DEFAULT_FALLBACK_POLICY, ...overrides, backoff: { ...DEFAULT_FALLBACK_POLICY.backoff, ...overrides.backoff } };
}
