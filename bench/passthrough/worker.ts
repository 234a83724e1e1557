/**
 * The benchmark's floor: a Worker that forwards the request body to the upstream
 * and returns its response, nothing else. Served the same way as the gateway, so
 * gateway minus pass-through is our code's own share.
 */
interface PassthroughEnv {
  UPSTREAM_URL: string;
}

export default {
  async fetch(request: Request, env: PassthroughEnv): Promise<Response> {
    const upstream = await fetch(`${env.UPSTREAM_URL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
      body: request.body,
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
};
