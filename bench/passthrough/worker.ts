/**
 * The benchmark's floor: a Worker that forwards the request body to the upstream
 * and returns its response, nothing else. Served the same way as the gateway, so
 * gateway minus pass-through is our code's own share. `/health` answers locally,
 * like the gateway's, so the same readiness check works for both.
 *
 * With LOG_EACH_REQUEST set it also writes one log line per request, as the
 * gateway's request log does: under `wrangler dev` a console.log alone costs
 * more than a millisecond, so this variant tells that cost apart from the rest
 * of our code's share.
 */
interface PassthroughEnv {
  UPSTREAM_URL: string;
  LOG_EACH_REQUEST?: string;
}

export default {
  async fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    if (new URL(request.url).pathname === '/health') return new Response('ok');
    const startedAt = Date.now();
    const upstream = await fetch(`${env.UPSTREAM_URL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
      body: request.body,
    });
    if (env.LOG_EACH_REQUEST) console.log(`POST /v1/chat/completions ${upstream.status} ${Date.now() - startedAt}ms`);
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
};
