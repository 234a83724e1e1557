/**
 * `node bench/miniflare/serve.ts '<json>'`: serves an already bundled Worker
 * (the output of `wrangler deploy --dry-run --outdir`) with Miniflare 5 alone,
 * exactly as `npm start` serves the gateway (scripts/miniflare-worker.ts):
 * workerd listens on a loopback socket bound straight to the Worker, so
 * neither wrangler's dev proxy nor Miniflare's entry Worker sits on the request
 * path. Prints `{"ready":{"url":…}}`; SIGTERM disposes Miniflare (and its workerd).
 *
 * The JSON: {name, bundle, compatibilityDate, compatibilityFlags?, vars?, durableObjects?}
 * where `bundle` is the path of the bundle's main module and `durableObjects`
 * maps a binding name to its class (exported by the bundle, SQLite storage).
 */
import * as z from 'zod';
import { serveDirectly } from '../../scripts/miniflare-worker.ts';
import { safeParseJson } from '../../protocol/validate.ts';

const settingsSchema = z.strictObject({
  name: z.string().min(1),
  bundle: z.string().min(1),
  compatibilityDate: z.string().min(1),
  compatibilityFlags: z.array(z.string()).default([]),
  vars: z.record(z.string(), z.string()).default({}),
  durableObjects: z.record(z.string(), z.string()).default({}),
});

const raw = safeParseJson(process.argv[2] ?? '');
const parsed = settingsSchema.safeParse(raw.ok ? raw.value : undefined);
if (!parsed.success) {
  process.stderr.write(`usage: serve.ts '{"name":…,"bundle":…,"compatibilityDate":…}': ${parsed.error.message}\n`);
  process.exit(2);
}

const { url, miniflare } = await serveDirectly(parsed.data, { port: 0, ownSignals: true });
process.stdout.write(`${JSON.stringify({ ready: { url } })}\n`);

const stop = (): void => {
  void miniflare.dispose().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
