/**
 * A ChatRequest and GenerationConfig in the worker's terms: messages for the
 * chat template (tool calls and results included), the tools, the template's
 * variables, snake_case sampling, and the context length that memory admission
 * should plan for.
 */
import { contentText, type ChatRequest } from '../../../protocol/chat-request.ts';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { samplingParams } from '../generation-config.ts';
import type { GenerationConfig } from '../runner.ts';
import type { WorkerCommand, WorkerGenerationConfig, WorkerMessage, WorkerResponseFormat } from './worker-protocol.ts';

type GenerateCommand = Extract<WorkerCommand, { op: 'generate' }>;

/** `{role, content}` messages plus tool calls and tool results; `developer` becomes `system`, which every chat template knows. */
export function toWorkerMessages(request: ChatRequest): WorkerMessage[] {
  return request.messages.map((message, index) => {
    if (Array.isArray(message.content) && message.content.some((part) => part.type === 'image_url')) {
      throw invalidRequest('The MLX runner serves text models: image parts are not supported', `messages[${index}].content`);
    }
    const role = message.role === 'developer' ? 'system' : message.role;
    const converted: WorkerMessage = { role, content: contentText(message.content) };
    if (message.role === 'assistant' && message.tool_calls?.length) converted.tool_calls = message.tool_calls;
    if (message.role === 'tool') converted.tool_call_id = message.tool_call_id;
    return converted;
  });
}

/**
 * The tools for the chat template and how the answer is read. `tool_choice:
 * "none"` still shows the tools (the conversation may refer to them) but the
 * model's tool blocks stay text, as no call may come back.
 */
export function toolFields(request: ChatRequest): Pick<GenerateCommand, 'tools' | 'parse_tools' | 'tool_choice'> {
  if (!request.tools?.length) return {};
  const choice = request.tool_choice;
  if (choice === 'none') return { tools: request.tools, parse_tools: false };
  // A forced call is enforced by the worker's constrained decoding (one call to the named function, or one or more).
  if (choice === 'required') return { tools: request.tools, tool_choice: 'required' };
  if (typeof choice === 'object') return { tools: request.tools, tool_choice: { name: choice.function.name } };
  return { tools: request.tools };
}

/**
 * A JSON `response_format` for the worker's constrained decoding: `json_object`
 * is any object, `json_schema` its schema (strict or not: the grammar always
 * enforces it, as OpenAI's strict mode does). `text` is no constraint.
 */
export function responseFormatField(request: ChatRequest): Pick<GenerateCommand, 'response_format'> {
  const format = request.response_format;
  if (!format || format.type === 'text') return {};
  const constraint: WorkerResponseFormat = format.type === 'json_schema' && format.json_schema.schema ? { type: 'json_schema', schema: format.json_schema.schema } : { type: 'json_object' };
  return { response_format: constraint };
}

/**
 * Chat template variables: the request's `chat_template_kwargs`, and
 * `reasoning_effort` switching thinking (`none` off, any other level on, since
 * local templates have no levels) unless `chat_template_kwargs` sets
 * `enable_thinking` itself. Without either, the model's default (mlx-lm: on
 * for a template that has a think block).
 */
export function templateKwargs(request: ChatRequest): Record<string, unknown> | undefined {
  const kwargs: Record<string, unknown> = {};
  if (request.reasoning_effort != null) kwargs['enable_thinking'] = request.reasoning_effort !== 'none';
  Object.assign(kwargs, request.chat_template_kwargs ?? {});
  // Names the worker sets itself: a template variable cannot replace the messages or the tools.
  for (const reserved of ['messages', 'tools', 'add_generation_prompt', 'tokenize', 'return_dict', 'conversation']) {
    if (reserved in kwargs) throw invalidRequest(`'chat_template_kwargs' cannot set '${reserved}'.`, 'chat_template_kwargs');
  }
  return Object.keys(kwargs).length > 0 ? kwargs : undefined;
}

/** The sampling settings under the names the worker passes to make_sampler / make_logits_processors. */
export function toWorkerGenerationConfig(config: GenerationConfig, request: ChatRequest): WorkerGenerationConfig {
  const worker: WorkerGenerationConfig = { max_tokens: config.maxTokens, stop: config.stop, ...samplingParams(config) };
  if (request.logit_bias != null && Object.keys(request.logit_bias).length > 0) {
    for (const key of Object.keys(request.logit_bias)) {
      if (!/^\d{1,9}$/.test(key)) throw invalidRequest(`Invalid 'logit_bias' key '${key.slice(0, 32)}': keys are token ids.`, 'logit_bias');
    }
    worker.logit_bias = request.logit_bias;
  }
  if (request.parallel_tool_calls === false) worker.parallel_tool_calls = false;
  if (request.logprobs === true) {
    worker.logprobs = true;
    if (request.top_logprobs) worker.top_logprobs = request.top_logprobs;
  }
  return worker;
}

/** Prompt plus answer, in tokens, for the KV-cache estimate (about 3 characters a token, on the safe side). */
export function estimateContextLength(messages: WorkerMessage[], maxTokens: number): number {
  const characters = messages.reduce((sum, message) => sum + message.content.length + JSON.stringify(message.tool_calls ?? []).length, 0);
  return Math.ceil(characters / 3) + maxTokens;
}
