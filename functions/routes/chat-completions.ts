/**
 * `POST /v1/chat/completions`: body read under the size limit, validated,
 * handed to the agent the factory picks, and answered as SSE or JSON with the
 * metadata of the model that served. Errors are thrown for `app.onError`.
 */
import type { Handler } from 'hono';
import { chatRequestSchema } from '../../protocol/chat-request.ts';
import { parseOrThrow } from '../../protocol/validate.ts';
import type { Env } from '../config.ts';
import { completionId, createdSeconds } from '../http/completion-id.ts';
import { collectCompletion } from '../http/json-response.ts';
import { sseResponse } from '../http/sse-response.ts';
import { scrubbedErrorBody, scrubFor } from '../http/error-response.ts';
import { readJsonBody } from '../http/json-body.ts';
import { runAgent, type AgentRouteOptions } from './agent-run.ts';

/** The route's handler. */
export function chatCompletions(options: AgentRouteOptions): Handler<{ Bindings: Env }> {
  const { deps } = options;
  return async (c) => {
    const request = parseOrThrow(chatRequestSchema, await readJsonBody(c.req.raw));
    const { result, headers, cancel, release } = await runAgent(c.env, c.req.raw.signal, request, options);
    const id = completionId(deps);
    const created = createdSeconds(deps);

    if (request.stream === true) {
      return sseResponse(result, {
        identity: { id, created, model: result.metadata.model_id, includeUsage: request.stream_options?.include_usage === true },
        headers,
        deps,
        errorBody: (error) => scrubbedErrorBody(error, scrubFor(c.env)),
        keepAliveMs: options.keepAliveMs,
        onEnd: (outcome) => {
          if (outcome === 'cancelled') cancel();
          release();
        },
      });
    }
    try {
      return c.json(await collectCompletion(result, { id, created }), 200, headers);
    } finally {
      release();
    }
  };
}
