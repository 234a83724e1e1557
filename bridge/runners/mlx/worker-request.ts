/**
 * A ChatRequest and GenerationConfig in the worker's terms: plain-text
 * messages for the chat template, snake_case sampling, and the context length
 * that memory admission should plan for.
 */
import { contentText, type ChatRequest } from '../../../protocol/chat-request.ts';
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { samplingParams } from '../generation-config.ts';
import type { GenerationConfig } from '../runner.ts';
import type { WorkerGenerationConfig, WorkerMessage } from './worker-protocol.ts';

/** Plain `{role, content}` messages; `developer` becomes `system`, which every chat template knows. */
export function toWorkerMessages(request: ChatRequest): WorkerMessage[] {
  return request.messages.map((message, index) => {
    if (Array.isArray(message.content) && message.content.some((part) => part.type === 'image_url')) {
      throw invalidRequest('The MLX runner serves text models: image parts are not supported', `messages[${index}].content`);
    }
    const role = message.role === 'developer' ? 'system' : message.role;
    return { role, content: contentText(message.content) };
  });
}

/** The sampling settings under the names the worker passes to make_sampler / make_logits_processors. */
export function toWorkerGenerationConfig(config: GenerationConfig): WorkerGenerationConfig {
  return { max_tokens: config.maxTokens, stop: config.stop, ...samplingParams(config) };
}

/** Prompt plus answer, in tokens, for the KV-cache estimate (about 3 characters a token, on the safe side). */
export function estimateContextLength(messages: WorkerMessage[], maxTokens: number): number {
  const characters = messages.reduce((sum, message) => sum + message.content.length, 0);
  return Math.ceil(characters / 3) + maxTokens;
}
