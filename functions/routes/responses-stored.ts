/**
 * `GET /v1/responses/{id}` and `DELETE /v1/responses/{id}`: a response kept
 * with `store: true`, as it was returned (the `agent` field included), or a
 * 404 in OpenAI's words once it is gone, expired, or was never stored.
 */
import type { Handler } from 'hono';
import { GatewayError } from '../../protocol/gateway-error.ts';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';
import type { Env } from '../config.ts';
import { databaseNotConfigured } from '../settings/database-error.ts';
import { parseResponseId, responseStoreFor, type ResponseStore } from '../surfaces/openai-responses/index.ts';

function notFound(id: string): GatewayError {
  return new GatewayError({ status: 404, type: 'invalid_request_error', code: 'response_not_found', param: 'response_id', message: `Response with id '${id}' not found.`, callerFault: true });
}

function storeOrThrow(env: Env, deps: RuntimeDeps): ResponseStore {
  const store = responseStoreFor(env, deps);
  if (!store) throw databaseNotConfigured();
  return store;
}

/** GET: the stored Response object. */
export function retrieveResponse(deps: RuntimeDeps): Handler<{ Bindings: Env }> {
  return async (c) => {
    const id = c.req.param('id') ?? '';
    if (parseResponseId(id) === undefined) throw notFound(id);
    const stored = await storeOrThrow(c.env, deps).load(id);
    if (!stored) throw notFound(id);
    return c.json(stored.response);
  };
}

/** DELETE: forgets it, as OpenAI answers (`{id, object, deleted}`). */
export function deleteResponse(deps: RuntimeDeps): Handler<{ Bindings: Env }> {
  return async (c) => {
    const id = c.req.param('id') ?? '';
    if (parseResponseId(id) === undefined || !(await storeOrThrow(c.env, deps).remove(id))) throw notFound(id);
    return c.json({ id, object: 'response', deleted: true });
  };
}
