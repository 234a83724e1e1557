/** `GET /health`: liveness, no auth, no I/O. */
import type { Handler } from 'hono';
import type { Env } from '../config.ts';

/** Always `{"status": "ok"}` while the Worker runs. */
export const health: Handler<{ Bindings: Env }> = (c) => c.json({ status: 'ok' });
