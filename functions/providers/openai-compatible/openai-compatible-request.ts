/**
 * The upstream body for OpenAI, xAI and Groq: the caller's request (the agent
 * has already removed our routing fields), with the upstream model name, always streaming (and asking for the
 * usage chunk where the provider takes `stream_options`). Capabilities are
 * checked first, so a refused field never costs an upstream call.
 */
import type { ChatRequest, UpstreamChatRequest } from '../../../protocol/chat-request.ts';
import { isNeutralValue, unsupportedField } from '../shared/unsupported-field.ts';
import type { OpenAICompatibleProfile } from './openai-compatible-profiles.ts';

/** Decided here (the model's name, streaming); never copied from the caller. */
const NOT_PASSED: ReadonlySet<string> = new Set(['model', 'stream', 'stream_options']);

/** Throws a 400 naming the first field the provider (or this model) refuses. */
export function checkCapabilities(request: UpstreamChatRequest, model: string, profile: OpenAICompatibleProfile): void {
  const record = request as Record<string, unknown>;
  for (const field of profile.refusedFields) {
    if (!isNeutralValue(field, record[field])) throw unsupportedField(profile.provider, field);
  }
  for (const rule of profile.modelRules) {
    if (!rule.pattern.test(model)) continue;
    for (const field of rule.refusedFields) {
      if (!isNeutralValue(field, record[field])) throw unsupportedField(profile.provider, field, `${rule.reason} (${model})`);
    }
  }
  if (profile.refusesMessageName) {
    const index = request.messages.findIndex((message) => 'name' in message && message.name !== undefined);
    if (index !== -1) throw unsupportedField(profile.provider, `messages[${index}].name`);
  }
}

/** The JSON body sent to `{base}/chat/completions`. */
export function buildOpenAICompatibleBody(request: UpstreamChatRequest, model: string, profile: OpenAICompatibleProfile): Record<string, unknown> {
  checkCapabilities(request, model, profile);
  const body: Record<string, unknown> = { model };
  const refused = new Set<string>(profile.refusedFields);
  for (const rule of profile.modelRules) if (rule.pattern.test(model)) for (const field of rule.refusedFields) refused.add(field);
  for (const [field, value] of Object.entries(request)) {
    if (NOT_PASSED.has(field) || value === null || value === undefined) continue;
    if (profile.droppedFields.includes(field as keyof ChatRequest)) continue;
    if (refused.has(field)) continue; // only neutral values get here (checked above)
    body[field] = value;
  }
  body['stream'] = true;
  if (profile.sendsStreamUsageOption) body['stream_options'] = { include_usage: true };
  return body;
}
