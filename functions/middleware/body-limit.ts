/**
 * The request body's size limit as middleware, before any route reads the
 * body: Hono's body-limit (a declared Content-Length over the limit is refused
 * unread; a body without one is counted as it streams and refused the moment
 * it passes the limit), answering the gateway's 413 in the path's error shape.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { GatewayError } from '../../protocol/gateway-error.ts';
import type { Env } from '../config.ts';

/** 10 MiB: room for a few base64 images, far below what a Worker may hold. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

function tooLarge(limit: number): GatewayError {
  const size = limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
  return new GatewayError({ status: 413, type: 'invalid_request_error', code: 'request_too_large', message: `The request body exceeds the limit of ${size}.`, callerFault: true });
}

/** 413 `request_too_large` for a body over `maxBytes`; thrown, so `app.onError` renders it. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<{ Bindings: Env }> {
  return honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });
}
