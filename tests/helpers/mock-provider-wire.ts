/**
 * What each flavor of the mock provider must be able to write, and the helpers
 * both flavors share. The flavor files (`mock-provider-openai.ts`,
 * `mock-provider-anthropic.ts`) render exact wire formats; the server
 * (`mock-provider.ts`) decides what to send when.
 */
import type { MockToolCall, MockUsage } from './mock-provider-types.ts';

/** An answer with everything filled in, ready to render. */
export interface MockAnswer {
  /** The model the request named (echoed back, as providers do). */
  model: string;
  deltas: string[];
  toolCalls: Array<Required<MockToolCall>>;
  usage: MockUsage;
  /** As the test gave it, or undefined for the flavor's natural one. */
  finishReason: string | undefined;
  /** OpenAI flavors: the request had `stream_options.include_usage`. */
  includeUsage: boolean;
}

/**
 * A stream in four parts, so the server can inject faults "after N deltas":
 * `start`, then `deltas` (one frame per text delta), then `tools` (tool-call
 * frames, and whatever closes the text), then `end` (finish, usage, terminator).
 */
export interface MockStreamFrames {
  start: string[];
  deltas: string[];
  tools: string[];
  end: string[];
}

export interface MockRequestProblem {
  status: number;
  body: unknown;
}

export interface MockWire {
  /** The path chat requests are POSTed to. */
  chatPath: string;
  /** Where the flavor counts tokens (Anthropic's count_tokens), if it can. */
  countTokensPath?: string;
  /** The count_tokens answer for a request body. */
  countTokens?(body: unknown): unknown;
  /** Auth and body checks the real provider makes; `undefined` when the request is fine. */
  checkRequest(headers: Record<string, string>, body: unknown, apiKey: string | undefined): MockRequestProblem | undefined;
  /** The non-streaming response body. */
  json(answer: MockAnswer): unknown;
  /** The streaming response, as SSE frames. */
  stream(answer: MockAnswer): MockStreamFrames;
  /** The in-band error event sent mid-stream. */
  streamError(): string;
  /** The provider's real error body for an HTTP status. */
  errorBody(status: number): unknown;
  /** GET /v1/models. */
  modelList(models: string[]): unknown;
  /** Models offered when the test names none. */
  defaultModels: string[];
  /** Tool call ids when the test gives none. */
  toolCallIdPrefix: string;
}

/** Splits text into word-sized deltas whose concatenation is the text. */
export function splitIntoDeltas(text: string): string[] {
  if (text === '') return [];
  return text.match(/\s*\S+|\s+$/g) ?? [text];
}

/** Splits tool-call arguments into up to three pieces, as providers stream them. */
export function splitArguments(text: string): string[] {
  if (text.length < 3) return [text];
  const third = Math.ceil(text.length / 3);
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)];
}

/** A plain object, for reading request bodies. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
