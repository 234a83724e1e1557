/**
 * `POST /v1/messages` (Anthropic's Messages API): the body read under the size
 * limit and validated, translated to a ChatRequest for the backends that need
 * it, and handed with the client's own body (for `anthropic/…` candidates,
 * which take it natively) to the one agent layer, then answered as
 * Anthropic's event stream or Message JSON with the metadata of the model
 * that served. Errors are thrown for `app.onError`, which renders them in
 * Anthropic's shape on this path.
 */
import type { Handler } from 'hono';
import { parseOrThrow } from '../../protocol/validate.ts';
import type { Env } from '../config.ts';
import { scrubFor } from '../http/error-response.ts';
import { readJsonBody } from '../http/json-body.ts';
import {
  anthropicErrorBody,
  collectMessage,
  messageId,
  messagesRequestSchema,
  messagesSseResponse,
  messagesToChatRequest,
  nativeMessagesRequest,
} from '../surfaces/anthropic-messages/index.ts';
import { runAgent, type AgentRouteOptions } from './agent-run.ts';

/** The route's handler. */
export function messages(options: AgentRouteOptions): Handler<{ Bindings: Env }> {
  const { deps } = options;
  return async (c) => {
    const body = parseOrThrow(messagesRequestSchema, await readJsonBody(c.req.raw));
    const { request, untranslatable } = messagesToChatRequest(body);
    const native = nativeMessagesRequest(body, c.req.raw.headers, untranslatable);
    const { result, headers, cancel, release } = await runAgent(c.env, c.req.raw.signal, request, options, native);
    const identity = { id: messageId(deps.generateId), model: result.metadata.model_id };

    if (body.stream === true) {
      const scrub = scrubFor(c.env);
      return messagesSseResponse(result, {
        identity,
        headers,
        deps,
        errorBody: (error) => anthropicErrorBody(error, scrub),
        keepAliveMs: options.keepAliveMs,
        onEnd: (outcome) => {
          if (outcome === 'cancelled') cancel();
          release();
        },
      });
    }
    try {
      return c.json(await collectMessage(result, identity), 200, headers);
    } finally {
      release();
    }
  };
}
