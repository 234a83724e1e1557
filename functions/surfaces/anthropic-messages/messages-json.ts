/**
 * A committed agent result as one Anthropic Message (`stream: false`), with
 * the gateway's `agent` metadata: a passthrough's frames folded as they came,
 * a translation's events folded through the same encoder the stream uses.
 */
import { safeParseJson } from '../../../protocol/validate.ts';
import type { AgentResult } from '../../agents/agent-types.ts';
import type { MessageResponse } from './anthropic-message.ts';
import { createAnthropicEventEncoder, type AnthropicEventEncoder, type MessageIdentity } from './chat-events-to-anthropic.ts';
import { createMessageAccumulator } from './message-accumulator.ts';

/** Reads every event of `result` into a Message. */
export async function collectMessage(result: AgentResult, identity: MessageIdentity): Promise<MessageResponse> {
  const accumulator = createMessageAccumulator(identity);
  let encoder: AnthropicEventEncoder | undefined;
  for await (const event of result.events) {
    if (event.native) {
      for (const frame of event.native) {
        const json = safeParseJson(frame.data);
        if (json.ok) accumulator.add(json.value);
      }
      continue;
    }
    if (!encoder) {
      encoder = createAnthropicEventEncoder(identity);
      for (const start of encoder.start()) accumulator.add(start);
    }
    for (const encoded of encoder.encode(event)) accumulator.add(encoded);
  }
  return { ...accumulator.message(), agent: result.metadata };
}
