/**
 * `GET /v1/models` (OpenAI's list) and `GET /v1/models/{id}` (OpenAI's
 * retrieve; ids contain slashes, sent raw or percent-encoded as the openai SDK
 * does), both from the one catalog of offered models.
 */
import type { Handler } from 'hono';
import { modelNotFound } from '../../protocol/gateway-error.ts';
import type { Env } from '../config.ts';
import type { ModelCatalog } from './model-catalog.ts';

/** The list route's handler. */
export function listModels(catalog: ModelCatalog): Handler<{ Bindings: Env }> {
  return async (c) => c.json({ object: 'list', data: await catalog.list(c.env) });
}

/** The retrieve route's handler; the route's `id` parameter is the rest of the path. */
export function retrieveModel(catalog: ModelCatalog): Handler<{ Bindings: Env }> {
  return async (c) => {
    // Hono decodes the parameter, so `openai%2Fgpt-4o` and `openai/gpt-4o` are one id.
    const id = c.req.param('id') ?? '';
    const entry = await catalog.find(c.env, id);
    if (!entry) throw modelNotFound(`The model '${id.slice(0, 256)}' does not exist or is not offered by this gateway.`);
    return c.json(entry);
  };
}
