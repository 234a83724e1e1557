/**
 * An agent's events gathered into one OpenAI `chat.completion`, with the
 * `agent` metadata field. A failure while gathering is thrown (nothing has been
 * sent yet, so the client gets a proper error status).
 */
import type { ChatEvent, FinishReason, TokenLogprob, Usage } from '../../protocol/chat-events.ts';
import type { ToolCall } from '../../protocol/chat-request.ts';
import type { ChatCompletion } from '../../protocol/chat-response.ts';
import { forEachEvent } from '../../protocol/event-batches.ts';
import type { AgentResult } from '../agents/agent-types.ts';

export interface CompletionIdentity {
  id: string;
  created: number;
}

/** Reads every event of `result` into a chat.completion. */
export async function collectCompletion(result: AgentResult, identity: CompletionIdentity): Promise<ChatCompletion> {
  let text = '';
  let reasoning = '';
  let refusal = '';
  let finishReason: FinishReason = 'stop';
  let usage: Usage | undefined;
  let logprobs: TokenLogprob[] | undefined;
  const toolCalls = new Map<number, ToolCall>();

  // Every event the stream already holds is taken at once (no promise per event).
  await forEachEvent(result.events, (event: ChatEvent) => {
    switch (event.type) {
      case 'text-delta':
        text += event.text;
        if (event.logprobs) for (const entry of event.logprobs) (logprobs ??= []).push(entry);
        break;
      case 'reasoning-delta':
        reasoning += event.text;
        break;
      case 'refusal-delta':
        refusal += event.text;
        break;
      case 'tool-call-delta': {
        const call = toolCalls.get(event.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
        if (event.id) call.id = event.id;
        // A name is the whole name, never a piece: a provider that repeats it must not double it.
        if (event.name) call.function.name = event.name;
        call.function.arguments += event.arguments;
        toolCalls.set(event.index, call);
        break;
      }
      case 'progress':
        break;
      case 'finish':
        finishReason = event.finishReason;
        usage = event.usage;
        break;
    }
  });

  const calls = [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  const message: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    // OpenAI's shape: no text next to tool calls or a refusal is `content: null`.
    content: text === '' && (calls.length > 0 || refusal !== '') ? null : text,
    refusal: refusal === '' ? null : refusal,
  };
  if (calls.length > 0) message.tool_calls = calls;
  if (reasoning !== '') message.reasoning_content = reasoning;

  const completion: ChatCompletion = {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: result.metadata.model_id,
    choices: [{ index: 0, message, logprobs: logprobs ? { content: logprobs, refusal: null } : null, finish_reason: finishReason }],
    agent: result.metadata,
  };
  if (usage) completion.usage = usage;
  return completion;
}
