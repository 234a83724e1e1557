/**
 * `POST /v1/responses` (OpenAI Responses API): body read under the size limit
 * and validated, the stored conversation loaded when it continues one,
 * translated to the internal chat request and run through the one agent layer
 * (`runAgent`), then answered as the semantic event stream or one Response
 * object, with the metadata of the model that served. Stateless unless
 * `store: true`. Errors are thrown for `app.onError`.
 */
import type { Handler } from 'hono';
import type { AgentMetadata } from '../../protocol/chat-response.ts';
import { parseOrThrow } from '../../protocol/validate.ts';
import type { Env } from '../config.ts';
import { createdSeconds } from '../http/completion-id.ts';
import { scrubbedErrorBody, scrubFor } from '../http/error-response.ts';
import { readJsonBody } from '../http/json-body.ts';
import { databaseNotConfigured } from '../settings/database-error.ts';
import {
  collectResponse,
  createResponseEncoder,
  loadContinuation,
  newResponseKey,
  renameChatParam,
  responseId,
  responseShell,
  responsesRequestSchema,
  responsesSse,
  responseStoreFor,
  toChatRequest,
  type ResponseObject,
} from '../surfaces/openai-responses/index.ts';
import { runAgent, type AgentRouteOptions } from './agent-run.ts';

/** The response as it is kept and returned: with who served it. */
function withAgent(response: ResponseObject, agent: AgentMetadata): ResponseObject {
  return { ...response, agent };
}

/** The route's handler. */
export function createResponse(options: AgentRouteOptions): Handler<{ Bindings: Env }> {
  const { deps } = options;
  return async (c) => {
    const request = parseOrThrow(responsesRequestSchema, await readJsonBody(c.req.raw));
    const store = responseStoreFor(c.env, deps);
    if (request.store === true && !store) throw databaseNotConfigured().with({ param: 'store', message: 'store: true needs a database: set TURSO_DATABASE_URL (and TURSO_AUTH_TOKEN for Turso)' });
    const { history, input } = await loadContinuation(request, store);
    const chat = toChatRequest(request, history, input);

    const { result, headers, cancel, release } = await runAgent(c.env, c.req.raw.signal, chat, options).catch((error: unknown) => {
      throw renameChatParam(error);
    });
    const key = newResponseKey(deps);
    const shell = responseShell(request, { id: responseId(key), createdAt: createdSeconds(deps), model: result.metadata.model_id });
    const encoder = createResponseEncoder(shell, key);
    const keep =
      request.store === true && store
        ? (response: ResponseObject) => store.save(withAgent(response, result.metadata), [...history, ...input, ...response.output])
        : undefined;

    if (request.stream === true) {
      return responsesSse(result, encoder, {
        headers,
        deps,
        errorBody: (error) => scrubbedErrorBody(error, scrubFor(c.env)),
        beforeEnd: keep,
        keepAliveMs: options.keepAliveMs,
        onEnd: (outcome) => {
          if (outcome === 'cancelled') cancel();
          release();
        },
      });
    }
    try {
      const response = await collectResponse(result, encoder, keep).catch((error: unknown) => {
        throw renameChatParam(error);
      });
      return c.json(withAgent(response, result.metadata), 200, headers);
    } finally {
      release();
    }
  };
}
