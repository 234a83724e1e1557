/**
 * The benchmark's upstream: a lean OpenAI-style `/v1/chat/completions` on
 * node:http that answers at once, always the same way, so every figure that
 * differs between targets is the target's own. No zod, no framework: the
 * upstream must be the cheapest thing in the measurement.
 *
 * What it answers is chosen by the last user message, so a caller several hops
 * away (through a gateway) can steer it:
 *   "echo:K chunks:N"  → content "K.0 K.1 … K.(N-1) " (one chunk each when streaming),
 *                        so concurrent streams can be checked for loss and crossing;
 *   "echo:K chunks:N spaced:MS" → the same, streamed one write per chunk, MS ms apart;
 *   anything else      → the constant answer "Hello from the bench upstream." (3 chunks).
 *
 * `POST /v1/messages` answers the same in Anthropic's wire format (anthropic-answer.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { safeParseJson } from '../../protocol/validate.ts';
import { answerAnthropic } from './anthropic-answer.ts';

const CONSTANT_PIECES = ['Hello ', 'from the bench ', 'upstream.'];
const CREATED = 1_764_000_000;

/** The content pieces the upstream sends for a prompt; shared with the checks. */
export function upstreamPieces(prompt: string): string[] {
  const match = /\becho:(\S+)\s+chunks:(\d+)/.exec(prompt);
  if (!match) return CONSTANT_PIECES;
  const [, key = '', count = '0'] = match;
  return Array.from({ length: Number(count) }, (_, index) => `${key}.${index} `);
}

function lastUserText(body: unknown): string {
  if (typeof body !== 'object' || body === null || !('messages' in body) || !Array.isArray(body.messages)) return '';
  for (let index = body.messages.length - 1; index >= 0; index--) {
    const message: unknown = body.messages[index];
    if (typeof message === 'object' && message !== null && 'role' in message && message.role === 'user' && 'content' in message) {
      if (typeof message.content === 'string') return message.content;
      // Anthropic's blocks: [{type: 'text', text}]
      if (Array.isArray(message.content)) return message.content.map((block: unknown) => (typeof block === 'object' && block !== null && 'text' in block && typeof block.text === 'string' ? block.text : '')).join('');
      return '';
    }
  }
  return '';
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}

function chunk(model: string, delta: Record<string, unknown>, finishReason: string | null): string {
  const body = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: CREATED, model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
  return `data: ${JSON.stringify(body)}\n\n`;
}

function answer(response: ServerResponse, body: unknown): void {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const model = typeof record['model'] === 'string' ? record['model'] : 'bench-model';
  const pieces = upstreamPieces(lastUserText(body));
  const usage = { prompt_tokens: 5, completion_tokens: pieces.length, total_tokens: 5 + pieces.length };
  if (record['stream'] === true) {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const spacedMs = Number(/\bspaced:(\d+)/.exec(lastUserText(body))?.[1] ?? '0');
    if (spacedMs > 0) {
      // "… spaced:MS": one write per chunk, MS ms apart, as a model's tokens arrive (one network read each).
      const writes = [chunk(model, { role: 'assistant', content: pieces[0] ?? '' }, null), ...pieces.slice(1).map((piece) => chunk(model, { content: piece }, null)), `${chunk(model, {}, 'stop')}data: [DONE]\n\n`];
      const next = (index: number): void => {
        if (index === writes.length - 1) response.end(writes[index]);
        else {
          response.write(writes[index]);
          setTimeout(() => next(index + 1), spacedMs);
        }
      };
      next(0);
      return;
    }
    // The first chunk carries content, so time to first token is one write away.
    let text = chunk(model, { role: 'assistant', content: pieces[0] ?? '' }, null);
    for (const piece of pieces.slice(1)) text += chunk(model, { content: piece }, null);
    text += chunk(model, {}, 'stop');
    const options = record['stream_options'];
    if (typeof options === 'object' && options !== null && 'include_usage' in options && options.include_usage === true) {
      text += `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: CREATED, model, choices: [], usage })}\n\n`;
    }
    response.end(`${text}data: [DONE]\n\n`);
    return;
  }
  const completion = {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: pieces.join('') }, finish_reason: 'stop' }],
    usage,
  };
  const text = JSON.stringify(completion);
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  const text = await readBody(request);
  if (request.method === 'POST' && path.endsWith('/v1/messages')) {
    const parsed = safeParseJson(text);
    const body = parsed.ok && typeof parsed.value === 'object' && parsed.value !== null ? (parsed.value as Record<string, unknown>) : {};
    const model = typeof body['model'] === 'string' ? body['model'] : 'bench-model';
    answerAnthropic(response, model, upstreamPieces(lastUserText(body)), body['stream'] === true);
    return;
  }
  if (request.method === 'POST' && path.endsWith('/chat/completions')) {
    const parsed = safeParseJson(text);
    if (!parsed.ok) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: 'bad JSON', type: 'invalid_request_error', param: null, code: null } }));
      return;
    }
    answer(response, parsed.value);
    return;
  }
  if (request.method === 'GET' && path.endsWith('/models')) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model', owned_by: 'bench' }] }));
    return;
  }
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }));
}

/** Starts the upstream on 127.0.0.1 and a free port. */
export function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}
