/**
 * An OpenAI-compatible upstream that streams each request's last user message
 * back word by word, and knows exactly which responses are still open: for
 * checking that streams never cross and that nothing is left running after
 * clients leave. `delay:N` in the message waits N ms between words.
 */
import { createServer } from 'node:http';
import { safeParseJson } from '../../protocol/validate.ts';

export interface EchoUpstream {
  /** For AGENT_ONLINE_ENDPOINTS: `origin + '/v1'`. */
  readonly baseUrl: string;
  /** Responses begun and not yet ended. */
  open(): number;
  /** Responses that ended because the gateway closed the connection first. */
  aborted(): number;
  /** Responses written to the end. */
  finished(): number;
  /** Resolves with the open count once none is open, or when `timeoutMs` passes. */
  waitUntilIdle(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/** The words the echo upstream (and the `mlx_lm` double) send back for `text`. */
export function echoOf(text: string): string {
  return text.replace(/\bdelay:\d+\s*/g, '').trim();
}

export async function startEchoUpstream(apiKey: string): Promise<EchoUpstream> {
  let open = 0;
  let aborted = 0;
  let finished = 0;
  const idleWaiters = new Set<() => void>();
  const server = createServer((request, response) => {
    response.on('error', () => undefined);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.headers.authorization !== `Bearer ${apiKey}`) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
        return;
      }
      const parsed = safeParseJson(Buffer.concat(chunks).toString('utf8'));
      // The gateway is the only caller: its body has this shape once it parsed.
      const body = (parsed.ok ? parsed.value : { model: '', messages: [] }) as { model: string; messages: Array<{ role: string; content: unknown }> };
      const last = [...body.messages].reverse().find((message) => message.role === 'user');
      const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
      const delayMs = Number(/\bdelay:(\d+)/.exec(text)?.[1] ?? 0);
      const words = echoOf(text).split(/(?<= )/);
      open += 1;
      let ended = false;
      const end = (how: 'finished' | 'aborted'): void => {
        if (ended) return;
        ended = true;
        open -= 1;
        if (how === 'finished') finished += 1;
        else aborted += 1;
        if (open === 0) for (const wake of [...idleWaiters]) wake();
      };
      response.on('close', () => end(response.writableFinished ? 'finished' : 'aborted'));
      const id = `chatcmpl-echo-${crypto.randomUUID()}`;
      const chunk = (delta: Record<string, unknown>, finishReason: string | null): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(chunk({ role: 'assistant', content: '' }, null));
      let index = 0;
      const next = (): void => {
        if (response.destroyed) return;
        const word = words[index++];
        if (word === undefined) {
          response.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
          return;
        }
        response.write(chunk({ content: word }, null));
        setTimeout(next, delayMs);
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    open: () => open,
    aborted: () => aborted,
    finished: () => finished,
    waitUntilIdle(timeoutMs) {
      if (open === 0) return Promise.resolve(0);
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          idleWaiters.delete(done);
          resolve(open);
        };
        const timer = setTimeout(done, timeoutMs);
        idleWaiters.add(done);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
