/**
 * An injectable `fetch` that answers with recorded wire transcripts from
 * `tests/fixtures/` (Node only: it reads files). The bytes arrive in small odd
 * chunks so that SSE fields and UTF-8 sequences are split, as on a real network.
 * It records each request and honours the request's AbortSignal like a real fetch.
 *
 *   const upstream = fixtureFetch([{ fixture: 'anthropic/text.sse' }]);
 *   const model = adapter.createModel(config, 'claude-x', testDeps(upstream.fetch));
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuntimeDeps } from '../../protocol/runtime-deps.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface FixtureAnswer {
  /** A file under tests/fixtures (e.g. `openai/tool-call.sse`), sent as an event stream. */
  fixture?: string;
  /** Or a literal body (JSON-encoded unless a string). */
  body?: unknown;
  status?: number;
  headers?: Record<string, string>;
  /** Bytes per chunk; default 7. */
  chunkSize?: number;
  /** Fail the fetch itself (a connect error) with this error. */
  connectError?: Error;
}

export interface FixtureRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** The parsed JSON body, if any. */
  body: unknown;
}

export interface FixtureFetch {
  fetch: typeof fetch;
  requests: FixtureRequest[];
  /** True once a response body was cancelled by its reader. */
  cancelled: () => number;
}

/** The text of a fixture file. */
export function readFixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

function streamOf(bytes: Uint8Array, chunkSize: number, signal: AbortSignal | null | undefined, onCancel: () => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true });
    },
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
    cancel() {
      onCancel();
    },
  });
}

/** A fetch that answers each call with the next answer (the last one repeats). */
export function fixtureFetch(answers: FixtureAnswer[]): FixtureFetch {
  const requests: FixtureRequest[] = [];
  let cancelled = 0;
  const fetcher = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const rawBody = typeof init?.body === 'string' ? init.body : undefined;
    requests.push({
      url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      method: init?.method ?? 'GET',
      headers,
      body: rawBody === undefined ? undefined : (JSON.parse(rawBody) as unknown),
    });
    const signal = init?.signal;
    if (signal?.aborted) throw signal.reason;
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)] ?? { body: '' };
    if (answer.connectError) throw answer.connectError;
    const text =
      answer.fixture !== undefined ? readFixture(answer.fixture) : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? '');
    const contentType = answer.fixture !== undefined ? 'text/event-stream' : 'application/json';
    const body = streamOf(new TextEncoder().encode(text), answer.chunkSize ?? 7, signal, () => {
      cancelled += 1;
    });
    return new Response(body, { status: answer.status ?? 200, headers: { 'content-type': contentType, ...answer.headers } });
  };
  return { fetch: fetcher as typeof fetch, requests, cancelled: () => cancelled };
}

/** RuntimeDeps for provider tests: the given fetch, a fixed clock, no real waiting. */
export function testDeps(fetcher: typeof fetch, now = Date.parse('2026-11-24T04:30:00Z')): RuntimeDeps {
  let id = 0;
  return {
    fetch: fetcher,
    now: () => now,
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    generateId: () => `id${++id}`,
  };
}
