/**
 * The OpenAI `Response` object and its output items, as the gateway emits them
 * (streamed in `response.*` events and returned whole), built from the request
 * that asked for it so every echoed field (instructions, tools, text.format,
 * reasoning, metadata) says what was asked.
 */
import type { Usage } from '../../../protocol/chat-events.ts';
import type { AgentMetadata } from '../../../protocol/chat-response.ts';
import type { FunctionTool, ResponsesRequest, TextFormat } from './responses-request.ts';

export interface OutputTextPart {
  type: 'output_text';
  text: string;
  annotations: [];
  logprobs: [];
}
export interface RefusalPart {
  type: 'refusal';
  refusal: string;
}
export type MessageContentPart = OutputTextPart | RefusalPart;

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface MessageItem {
  type: 'message';
  id: string;
  status: ItemStatus;
  role: 'assistant';
  content: MessageContentPart[];
}
export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}
export interface SummaryTextPart {
  type: 'summary_text';
  text: string;
}
export interface ReasoningItem {
  type: 'reasoning';
  id: string;
  status: ItemStatus;
  summary: SummaryTextPart[];
}
export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  text: { format: TextFormat; verbosity?: string };
  tool_choice: ResponsesRequest['tool_choice'] & {};
  tools: Array<FunctionTool & { description: string | null; parameters: Record<string, unknown> | null; strict: boolean | null }>;
  top_p: number | null;
  truncation: 'disabled';
  usage: ResponsesUsage | null;
  user: string | null;
  metadata: Record<string, string>;
  /** The gateway's own: who served (non-streaming bodies and stored responses). */
  agent?: AgentMetadata;
}

/** The chat usage in the Responses vocabulary; the detail counts are 0 when the backend did not report them. */
export function toResponsesUsage(usage: Usage): ResponsesUsage {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

export interface ResponseIdentity {
  id: string;
  createdAt: number;
  /** The model that serves (`provider/model`), known once the agent has committed. */
  model: string;
}

/** The response as `response.created` announces it: in progress, no output yet. */
export function responseShell(request: ResponsesRequest, identity: ResponseIdentity): ResponseObject {
  const text: ResponseObject['text'] = { format: request.text?.format ?? { type: 'text' } };
  if (request.text?.verbosity) text.verbosity = request.text.verbosity;
  return {
    id: identity.id,
    object: 'response',
    created_at: identity.createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: identity.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? request.reasoning?.generate_summary ?? null },
    store: request.store === true,
    temperature: request.temperature ?? null,
    text,
    tool_choice: request.tool_choice ?? 'auto',
    tools: (request.tools ?? []).map((tool) => ({
      ...tool,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      // What was asked: OpenAI's own default (true) is not what an upstream chat call does unasked.
      strict: tool.strict ?? null,
    })),
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage: null,
    user: request.user ?? null,
    metadata: request.metadata ?? {},
  };
}
