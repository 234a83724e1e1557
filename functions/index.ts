/** The Worker's entry: the Hono app and the Durable Object class wrangler binds. */
import { Hono } from 'hono';
import type { Env } from './config.ts';
export { BridgeTunnel } from './tunnel/bridge-tunnel.ts';

const app = new Hono<{ Bindings: Env }>();
app.get('/health', (c) => c.json({ status: 'ok' }));
export default app;
