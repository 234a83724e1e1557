/**
 * A committed agent run gathered into one Response object. A non-streaming run commits at its
 * finish, so a failure while gathering is thrown and answered with a proper
 * error status (the agent layer has already retried or fallen back).
 */
import type { AgentResult } from '../../agents/agent-types.ts';
import type { ResponseEncoder } from './response-event-encoder.ts';
import type { ResponseObject } from './response-object.ts';

/** Reads every event of `result` through `encoder`; `beforeEnd` runs on the finished response (storing it). */
export async function collectResponse(
  result: AgentResult,
  encoder: ResponseEncoder,
  beforeEnd?: (response: ResponseObject) => Promise<void>,
): Promise<ResponseObject> {
  let finished = false;
  for await (const event of result.events) {
    encoder.encode(event);
    if (event.type === 'finish') finished = true;
  }
  // The agent layer always ends with `finish`; be whole even if a backend did not.
  if (!finished) encoder.encode({ type: 'finish', finishReason: 'stop' });
  await beforeEnd?.(encoder.response());
  encoder.complete();
  return encoder.response();
}
