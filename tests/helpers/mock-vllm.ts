/**
 * A loopback stand-in for `vllm serve` (127.0.0.1, port 0): `/health`,
 * `/v1/models` and `/v1/chat/completions` answered from recorded vLLM wire
 * transcripts in tests/fixtures/vllm. Records every chat request body.
 *
 *   const vllm = await startMockVllm();
 *   vllm.script({ kind: 'stall', afterChunks: 2 });   // next chat call only
 *   ... runner with baseUrl: vllm.baseUrl ...
 *   await vllm.close();
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { safeParseJson } from '../../protocol/validate.ts';

const FIXTURES = new URL('../fixtures/vllm/', import.meta.url);

/** A recorded transcript of tests/fixtures/vllm. */
export function vllmFixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES).pathname, 'utf8');
}

export type MockVllmBehavior =
  | { kind: 'stream'; fixture: string }
  | { kind: 'status'; status: number; fixture?: string }
  /** Send the fixture's first chunks, then nothing until the client gives up. */
  | { kind: 'stall'; afterChunks: number; fixture?: string };

export interface MockVllm {
  readonly origin: string;
  /** What VLLM_BASE_URL would be: `origin + '/v1'`. */
  readonly baseUrl: string;
  /** Chat request bodies received, in order. */
  readonly requests: unknown[];
  /** How many times `/v1/models` was asked. */
  readonly modelListings: () => number;
  /** Resolves when a chat connection was closed by the client before it finished. */
  readonly clientAborted: Promise<void>;
  script(behavior: MockVllmBehavior): void;
  setHealthy(healthy: boolean): void;
  close(): Promise<void>;
}

export async function startMockVllm(options: { apiKey?: string } = {}): Promise<MockVllm> {
  const requests: unknown[] = [];
  let listings = 0;
  const scripted: MockVllmBehavior[] = [];
  let healthy = true;
  let markAborted!: () => void;
  const clientAborted = new Promise<void>((resolve) => {
    markAborted = resolve;
  });

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (options.apiKey && request.headers.authorization !== `Bearer ${options.apiKey}`) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"Unauthorized"}');
        return;
      }
      if (request.url === '/health') {
        response.writeHead(healthy ? 200 : 503).end();
        return;
      }
      if (request.url === '/v1/models') {
        listings += 1;
        response.writeHead(200, { 'content-type': 'application/json' }).end(vllmFixture('models.json'));
        return;
      }
      if (request.url !== '/v1/chat/completions' || request.method !== 'POST') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
        return;
      }
      const body = safeParseJson(Buffer.concat(chunks).toString('utf8'));
      requests.push(body.ok ? body.value : undefined);
      const behavior = scripted.shift() ?? { kind: 'stream', fixture: 'chat-stream.sse' };
      if (behavior.kind === 'status') {
        response
          .writeHead(behavior.status, { 'content-type': 'application/json' })
          .end(behavior.fixture ? vllmFixture(behavior.fixture) : '{"error":{"message":"mock failure"}}');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const events = vllmFixture(behavior.fixture ?? 'chat-stream.sse').split('\n\n').filter((event) => event.trim() !== '');
      if (behavior.kind === 'stall') {
        response.on('close', () => {
          if (!response.writableFinished) markAborted();
        });
        response.write(events.slice(0, behavior.afterChunks).map((event) => `${event}\n\n`).join(''));
        return;
      }
      response.end(events.map((event) => `${event}\n\n`).join(''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    baseUrl: `${origin}/v1`,
    requests,
    modelListings: () => listings,
    clientAborted,
    script: (behavior) => scripted.push(behavior),
    setHealthy: (value) => {
      healthy = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
