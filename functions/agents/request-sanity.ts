/**
 * Checks across fields that the request schema cannot express field by field,
 * made before any model is called, each a 400 naming the field as OpenAI does.
 */
import type { ChatRequest } from '../../protocol/chat-request.ts';
import { invalidRequest } from '../../protocol/gateway-error.ts';

/** Throws a 400 when fields of `request` contradict each other. */
export function checkRequestSanity(request: ChatRequest): void {
  if (request.stream_options != null && request.stream !== true) {
    throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
  }
  const toolChoice = request.tool_choice;
  if (toolChoice !== undefined && toolChoice !== 'none' && (request.tools?.length ?? 0) === 0) {
    throw invalidRequest("'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
  }
  if (typeof toolChoice === 'object') {
    const wanted = toolChoice.function.name;
    if (!request.tools?.some((tool) => tool.function.name === wanted)) {
      throw invalidRequest(`'tool_choice' names the function '${wanted}', which is not among the 'tools'.`, 'tool_choice');
    }
  }
  const callIds = new Set<string>();
  for (const [index, message] of request.messages.entries()) {
    if (message.role === 'assistant') for (const call of message.tool_calls ?? []) callIds.add(call.id);
    if (message.role === 'tool' && !callIds.has(message.tool_call_id)) {
      throw invalidRequest(
        `Invalid value for 'messages[${index}].tool_call_id': a 'tool' message must answer a tool call of an earlier assistant message.`,
        `messages[${index}].tool_call_id`,
      );
    }
  }
}
