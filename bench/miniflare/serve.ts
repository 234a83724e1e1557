/**
 * `node bench/miniflare/serve.ts '<json>'`: serves an already bundled Worker
 * (the output of `wrangler deploy --dry-run --outdir`) with Miniflare 5 alone,
 * no `wrangler dev` in front: workerd listens on a loopback socket bound
 * straight to the Worker (`unsafeDirectSockets`), so neither wrangler's dev
 * proxy nor Miniflare's entry Worker sits on the request path. Prints
 * `{"ready":{"url":…}}`; SIGTERM disposes Miniflare (and its workerd).
 *
 * The JSON: {name, bundle, compatibilityDate, compatibilityFlags?, vars?, durableObjects?}
 * where `bundle` is the path of the bundle's main module and `durableObjects`
 * maps a binding name to its class (exported by the bundle, SQLite storage).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Miniflare, type MiniflareOptions } from 'miniflare';
import * as z from 'zod';
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
const settings = parsed.data;
const mainModule = basename(settings.bundle);

type WorkerConfig = MiniflareOptions['workers'][number]['config'];
type Binding = NonNullable<WorkerConfig['env']>[string];

const env: Record<string, Binding> = {};
for (const [name, value] of Object.entries(settings.vars)) env[name] = { type: 'text', value };
for (const [binding, className] of Object.entries(settings.durableObjects)) {
  env[binding] = { type: 'durable-object', worker: settings.name, exportName: className };
}

const miniflare = new Miniflare({
  host: '127.0.0.1',
  port: 0,
  logRequests: false,
  enableDevRegistry: false,
  telemetry: { enabled: false },
  workers: [
    {
      config: {
        name: settings.name,
        compatibilityDate: settings.compatibilityDate,
        compatibilityFlags: settings.compatibilityFlags,
        manifest: { mainModule, modules: { [mainModule]: { type: 'esm', contents: readFileSync(settings.bundle, 'utf8') } } },
        env,
        exports: Object.fromEntries(Object.values(settings.durableObjects).map((className) => [className, { type: 'durable-object', storage: 'sqlite' }])),
      },
      dev: { unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] },
    },
  ],
});

const direct = await miniflare.unsafeGetDirectURL(settings.name);
const url = direct.origin;
process.stdout.write(`${JSON.stringify({ ready: { url } })}\n`);

const stop = (): void => {
  void miniflare.dispose().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
