/**
 * The vocabulary shared by the loopback mock provider (`mock-provider.ts`, Node)
 * and its fetch-only control client (`mock-provider-client.ts`, any runtime):
 * what a test can script (MockBehavior) and what the mock records (RecordedCall).
 * The zod schema checks behaviors that arrive over the HTTP control plane.
 */
import * as z from 'zod';

/** Which provider's wire format the mock speaks. `groq` is OpenAI's plus `x_groq.usage`. */
export type MockFlavor = 'openai' | 'anthropic' | 'groq';

export interface MockToolCall {
  /** Default: `call_mock_<n>` (OpenAI) / `toolu_mock_<n>` (Anthropic). */
  id?: string;
  name: string;
  /** The JSON arguments as text; streamed in a few pieces. */
  arguments: string;
}

/** Token counts in OpenAI's terms; the mock renders them in the flavor's own shape. */
export interface MockUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** OpenAI `prompt_tokens_details.cached_tokens` / Anthropic `cache_read_input_tokens`. */
  cached_tokens?: number;
  /** Anthropic `cache_creation_input_tokens` (ignored by the OpenAI flavors). */
  cache_creation_tokens?: number;
}

/** A complete answer: JSON for `stream: false`, the flavor's SSE sequence for `stream: true`. */
export interface MockReply {
  kind: 'reply';
  content?: string;
  toolCalls?: MockToolCall[];
  usage?: MockUsage;
  /**
   * In either vocabulary: OpenAI's (`stop`, `length`, `tool_calls`, `content_filter`) is
   * translated for the Anthropic flavor; any other string is sent as it is
   * (`pause_turn`, `refusal`, `model_context_window_exceeded`, …).
   */
  finishReason?: string;
  /** Wait this long before answering at all. */
  delayMs?: number;
}

/** A stream with faults. Always answered as SSE, whatever the request's `stream`. */
export interface MockStream {
  kind: 'stream';
  deltas: string[];
  /** Pause between deltas. */
  delayMs?: number;
  /** Destroy the socket after N deltas: no terminator, no error event. */
  cutAfter?: number;
  /** Send N deltas, then go silent until the client gives up (records `aborted`). */
  stallAfter?: number;
  /** An in-band error event after N deltas (OpenAI `data: {"error":…}`, Anthropic `event: error`). */
  errorAfter?: number;
  toolCalls?: MockToolCall[];
  usage?: MockUsage;
  finishReason?: string;
}

/** An HTTP error (or any status) with the flavor's real error body unless `body` is given. */
export interface MockStatus {
  kind: 'status';
  status: number;
  /** Sent as JSON (a string is sent as it is). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Never answers; holds the request until the client aborts. */
export interface MockStall {
  kind: 'stall';
}

/** Destroys the socket without any response. */
export interface MockHangup {
  kind: 'hangup';
}

/**
 * A recorded wire transcript from `tests/fixtures/`, sent byte for byte as an
 * event stream, whatever the request asked (the gateway always streams upstream).
 */
export interface MockReplay {
  kind: 'replay';
  /** `<provider>/<file>` under tests/fixtures, e.g. `anthropic/tool-no-args.sse`. */
  fixture: string;
  /** Bytes per write, each written a turn of the event loop apart; default: the whole file at once. */
  chunkSize?: number;
}

export type MockBehavior = MockReply | MockStream | MockStatus | MockStall | MockHangup | MockReplay;

export interface RecordedCall {
  method: string;
  /** Path and query, e.g. `/v1/chat/completions`. */
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, the raw text otherwise (`''` when empty). */
  body: unknown;
  /** The client closed the connection before the response finished. */
  aborted: boolean;
  /** Milliseconds since the epoch. */
  startedAt: number;
}

/** What `waitForCalls` waits for: at least this many calls, of which at least `aborted` were aborted. */
export interface MockWaitCondition {
  count?: number;
  aborted?: number;
  /** Give up (reject) after this long; default 5000 ms. */
  timeoutMs?: number;
}

const toolCallSchema = z.object({ id: z.string().optional(), name: z.string(), arguments: z.string() });
const usageSchema = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  cached_tokens: z.number().optional(),
  cache_creation_tokens: z.number().optional(),
});
const count = z.int().min(0).optional();

/** Checks a behavior that came over the control plane. */
export const mockBehaviorSchema: z.ZodType<MockBehavior> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('reply'),
    content: z.string().optional(),
    toolCalls: z.array(toolCallSchema).optional(),
    usage: usageSchema.optional(),
    finishReason: z.string().optional(),
    delayMs: count,
  }),
  z.object({
    kind: z.literal('stream'),
    deltas: z.array(z.string()),
    delayMs: count,
    cutAfter: count,
    stallAfter: count,
    errorAfter: count,
    toolCalls: z.array(toolCallSchema).optional(),
    usage: usageSchema.optional(),
    finishReason: z.string().optional(),
  }),
  z.object({
    kind: z.literal('status'),
    status: z.int().min(100).max(599),
    body: z.unknown().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  z.object({ kind: z.literal('stall') }),
  z.object({ kind: z.literal('hangup') }),
  // One folder and one file name: a behavior never reads outside tests/fixtures.
  z.object({ kind: z.literal('replay'), fixture: z.string().regex(/^[a-z0-9-]+\/[a-z0-9][a-z0-9.-]*$/), chunkSize: z.int().min(1).optional() }),
]);

export const mockScriptBodySchema = z.object({ behaviors: z.array(mockBehaviorSchema) });
export const mockDefaultBodySchema = z.object({ behavior: mockBehaviorSchema });
export const mockWaitBodySchema = z.object({
  count: count,
  aborted: count,
  timeoutMs: z.int().min(1).max(120_000).optional(),
});

/** The control plane's paths, on the mock's origin. */
export const MOCK_CONTROL_PATHS = {
  script: '/__mock/script',
  default: '/__mock/default',
  calls: '/__mock/calls',
  wait: '/__mock/wait',
  reset: '/__mock/reset',
} as const;
