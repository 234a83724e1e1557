/**
 * What the MLX runner cannot honour, refused before any load: a 400 naming the
 * field, as the online providers refuse theirs, never a silent drop that
 * changes the answer. Hints that change nothing in the answer (`user`,
 * `metadata`, `store`, `service_tier`, `prompt_cache_key`, `prediction`, …)
 * are accepted and ignored. The table is docs/bridge.md's "What local models
 * support".
 */
import type { ChatRequest } from '../../../protocol/chat-request.ts';
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';

function unsupported(param: string, reason: string): GatewayError {
  return invalidRequest(`Unsupported parameter '${param}' for mlx: ${reason}.`, param, 'unsupported_parameter');
}

/** Throws a 400 naming the first field of `request` the MLX runner cannot honour. */
export function checkMlxCapabilities(request: ChatRequest): void {
  const choice = request.tool_choice;
  // "required" and a named function are enforced by the worker's constrained decoding, which needs the tools.
  if ((choice === 'required' || typeof choice === 'object') && !request.tools?.length) {
    throw invalidRequest("'tool_choice' forces a tool call, so 'tools' must list at least one.", 'tool_choice');
  }
  if (typeof choice === 'object' && !request.tools?.some((tool) => tool.function.name === choice.function.name)) {
    throw invalidRequest(`'tool_choice' names '${choice.function.name.slice(0, 64)}', which is not among 'tools'.`, 'tool_choice');
  }
  if (request.top_logprobs != null && request.logprobs !== true) {
    // OpenAI's rule: alternatives are part of the log probabilities asked for.
    throw invalidRequest("'top_logprobs' needs 'logprobs' set to true.", 'top_logprobs');
  }
  if (request.audio != null) throw unsupported('audio', 'the MLX runner serves text models');
  if (request.web_search_options != null) throw unsupported('web_search_options', 'a local model cannot search the web');
  if (request.verbosity != null && request.verbosity !== 'medium') throw unsupported('verbosity', 'local chat templates have no verbosity setting');
}
