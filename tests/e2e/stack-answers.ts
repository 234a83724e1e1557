/**
 * What the end-to-end suites read from the gateway's answers, as the official
 * `openai` client delivers them: OpenAI-shaped error bodies, whole streams, and
 * the gateway's own `agent` block.
 */
import type OpenAI from 'openai';
import { expect } from 'vitest';

/** Reads an OpenAI-shaped error body; undefined when the body is not one. */
export function openAIErrorOf(body: unknown): { message: string; type: string; param: string | null; code: string | null } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { message, type, param, code } = error as Record<string, unknown>;
  if (typeof message !== 'string' || typeof type !== 'string') return undefined;
  if (param !== null && typeof param !== 'string') return undefined;
  if (code !== null && typeof code !== 'string') return undefined;
  return { message, type, param, code };
}

/** What a streamed completion added up to, as the official client delivered it. */
export interface StreamedCompletion {
  text: string;
  finishReason: string | null;
  /** The `model` of the chunks (the full `provider/model` that served). */
  model: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  usage: OpenAI.CompletionUsage | undefined;
  chunks: number;
}

/** Reads a stream from `client.chat.completions.create({stream: true})` to its end. */
export async function readStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<StreamedCompletion> {
  const result: StreamedCompletion = { text: '', finishReason: null, model: '', toolCalls: [], usage: undefined, chunks: 0 };
  for await (const chunk of stream) {
    result.chunks += 1;
    result.model = chunk.model;
    if (chunk.usage) result.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    result.text += choice.delta.content ?? '';
    result.finishReason = choice.finish_reason ?? result.finishReason;
    for (const call of choice.delta.tool_calls ?? []) {
      const entry = (result.toolCalls[call.index] ??= { id: '', name: '', arguments: '' });
      if (call.id) entry.id = call.id;
      if (call.function?.name) entry.name += call.function.name;
      if (call.function?.arguments) entry.arguments += call.function.arguments;
    }
  }
  return result;
}

/** The `agent` block the gateway adds to a non-streaming completion. */
export interface AgentMetadata {
  backend: string;
  provider: string;
  model_id: string;
  latency_ms: number;
  attempts: Array<{ provider: string; model_id: string; status: number; error_type: string | null; latency_ms: number }>;
}

/** The gateway's `agent` block of a completion (the SDK passes unknown fields through). */
export function agentOf(completion: OpenAI.ChatCompletion): AgentMetadata {
  return (completion as unknown as { agent: AgentMetadata }).agent;
}

/** A JSON answer served by the bridge's MLX runner as `model`: the metadata headers and the `agent` block agree. */
export function expectServedLocally(completion: OpenAI.ChatCompletion, response: Response, model: string): void {
  expect(completion.model).toBe(model);
  expect(response.headers.get('x-agent-backend')).toBe('local');
  expect(response.headers.get('x-agent-provider')).toBe('mlx');
  expect(response.headers.get('x-agent-model')).toBe(model);
  expect(agentOf(completion)).toMatchObject({ backend: 'local', provider: 'mlx', model_id: model, attempts: [{ status: 200 }] });
}
