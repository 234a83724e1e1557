/**
 * A loopback mock of a cloud LLM provider (OpenAI, Groq or Anthropic wire
 * format) with fault injection, for unit, workerd, e2e tests and benchmarks.
 *
 *   const mock = await startMockProvider({ flavor: 'anthropic' });
 *   // point the gateway at mock.baseUrl (AGENT_ONLINE_ENDPOINTS base_url)
 *   mock.script([{ kind: 'status', status: 529 }, { kind: 'reply', content: 'Hi there' }]);
 *   ... run the request ...
 *   expect(mock.calls()).toHaveLength(2);
 *   await mock.close();
 *
 * - Listens on 127.0.0.1, port 0. `origin` is `http://127.0.0.1:PORT`; `baseUrl` is
 *   what the gateway's config wants: `origin + '/v1'` for the OpenAI flavors,
 *   `origin` for Anthropic.
 * - Chat calls (`POST /v1/chat/completions`, or `POST /v1/messages` for Anthropic)
 *   take the next scripted behavior (FIFO; `script` appends), or the default one
 *   when the script is empty (a short answer, streamed or JSON as asked). See
 *   MockBehavior in `mock-provider-types.ts`: reply, stream (with cutAfter /
 *   stallAfter / errorAfter / delayMs), status, stall, hangup, and replay (a
 *   recorded transcript from tests/fixtures, optionally in small pieces).
 * - `GET /v1/models` lists `options.models` (or a default list) in the flavor's shape.
 * - Anthropic's `POST /v1/messages/count_tokens` answers a count derived from the
 *   body (its JSON length over 4), so a test can tell the count came from here.
 * - With `options.apiKey`, requests without that key get the flavor's real 401.
 *   Requests missing what the real API requires (model, messages, Anthropic's
 *   max_tokens and anthropic-version, temperature ≤ 1) get its real 400.
 * - Every request except the control plane is recorded (`calls()`), with
 *   `aborted: true` when the client closed the connection before the response
 *   finished. `waitForCalls({count, aborted})` resolves when that is true, so tests
 *   wait on events, never on sleeps.
 * - The HTTP control plane, for code that cannot hold this object (tests inside
 *   workerd; use `mockProviderClient(origin)` from `mock-provider-client.ts`):
 *   `POST /__mock/script {behaviors}`, `POST /__mock/default {behavior}`,
 *   `GET /__mock/calls`, `POST /__mock/wait {count?, aborted?, timeoutMs?}`,
 *   `POST /__mock/reset`.
 * - Delays use the real timers captured when this module loads, so a test that
 *   fakes timers in the same process does not freeze the mock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { safeParseJson } from '../../protocol/validate.ts';
import { anthropicWire } from './mock-provider-anthropic.ts';
import { sendJson, serveControl } from './mock-provider-control.ts';
import { readFixture } from './mock-provider-fixtures.ts';
import { openaiWire } from './mock-provider-openai.ts';
import { createMockState, DEFAULT_MOCK_CONTENT, realClearTimeout, realSetTimeout } from './mock-provider-state.ts';
import type { MockBehavior, MockFlavor, MockReplay, MockReply, MockStream, MockWaitCondition, RecordedCall } from './mock-provider-types.ts';
import { asRecord, splitArguments, splitIntoDeltas, type MockAnswer, type MockWire } from './mock-provider-wire.ts';

export type { MockBehavior, MockFlavor, MockWaitCondition, RecordedCall } from './mock-provider-types.ts';
export { DEFAULT_MOCK_CONTENT } from './mock-provider-state.ts';

export interface MockProviderOptions {
  flavor?: MockFlavor;
  /** What GET /v1/models reports. */
  models?: string[];
  /** When set, calls must carry this key (Bearer, or x-api-key for Anthropic). */
  apiKey?: string;
}

export interface MockProvider {
  readonly flavor: MockFlavor;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** OpenAI flavors: `origin + '/v1'`; Anthropic: `origin`. */
  readonly baseUrl: string;
  /** Behaviors for the next chat calls, one per call, first in first out (appends). */
  script(behaviors: MockBehavior[]): void;
  /** The behavior used when the script is empty. */
  setDefault(behavior: MockBehavior): void;
  /** A snapshot of every recorded request so far. */
  calls(): RecordedCall[];
  /** Resolves with the calls once the condition holds; rejects after `timeoutMs` (default 5 s). */
  waitForCalls(condition: MockWaitCondition): Promise<RecordedCall[]>;
  /** Forgets script, calls and the custom default. */
  reset(): void;
  close(): Promise<void>;
}

function wireFor(flavor: MockFlavor): MockWire {
  return flavor === 'anthropic' ? anthropicWire() : openaiWire(flavor === 'groq');
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text === '') return '';
  const json = safeParseJson(text);
  return json.ok ? json.value : text;
}

function lowerCaseHeaders(request: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Waits `ms` with the real timers; false when the connection closed meanwhile. */
function pause(ms: number, response: http.ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!response.destroyed);
  return new Promise((resolve) => {
    const onClose = (): void => {
      realClearTimeout(timer);
      resolve(false);
    };
    const timer = realSetTimeout(() => {
      response.off('close', onClose);
      resolve(!response.destroyed);
    }, ms);
    response.once('close', onClose);
  });
}

function answerFor(behavior: MockReply | MockStream, body: unknown, wire: MockWire): MockAnswer {
  const request = asRecord(body) ?? {};
  const deltas =
    behavior.kind === 'stream'
      ? behavior.deltas
      : splitIntoDeltas(behavior.content ?? (behavior.toolCalls?.length ? '' : DEFAULT_MOCK_CONTENT));
  const toolCalls = (behavior.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `${wire.toolCallIdPrefix}${index + 1}`,
    name: call.name,
    arguments: call.arguments,
  }));
  const pieces = deltas.length + toolCalls.reduce((sum, call) => sum + splitArguments(call.arguments).length, 0);
  return {
    model: typeof request['model'] === 'string' ? request['model'] : 'mock-model',
    deltas,
    toolCalls,
    usage: behavior.usage ?? { prompt_tokens: 10, completion_tokens: Math.max(1, pieces) },
    finishReason: behavior.finishReason,
    includeUsage: asRecord(request['stream_options'])?.['include_usage'] === true,
  };
}

/** Writes an SSE answer, injecting the behavior's faults after N deltas. */
async function serveStream(wire: MockWire, behavior: MockStream, answer: MockAnswer, response: http.ServerResponse, markServerEnded: () => void): Promise<void> {
  const frames = wire.stream(answer);
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (const frame of frames.start) response.write(frame);
  const total = frames.deltas.length;
  const at = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.min(n, total));
  const cutAt = at(behavior.cutAfter);
  const stallAt = at(behavior.stallAfter);
  const errorAt = at(behavior.errorAfter);
  for (let sent = 0; ; sent++) {
    if (cutAt === sent) {
      markServerEnded();
      // Let the frames already written reach the client, then drop the connection mid-body.
      response.write('', () => response.socket?.destroy());
      return;
    }
    if (stallAt === sent) return; // silent until the client gives up
    if (errorAt === sent) {
      response.end(wire.streamError());
      return;
    }
    const frame = frames.deltas[sent];
    if (frame === undefined) break;
    if (sent > 0 && !(await pause(behavior.delayMs ?? 0, response))) return;
    response.write(frame);
  }
  for (const frame of frames.tools) response.write(frame);
  response.end(frames.end.join(''));
}

/** Writes a recorded transcript, in `chunkSize`-byte writes a timer turn apart so they travel as separate reads where the network allows. */
async function serveReplay(behavior: MockReplay, response: http.ServerResponse): Promise<void> {
  const bytes = Buffer.from(readFixture(behavior.fixture), 'utf8');
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const size = behavior.chunkSize ?? bytes.length;
  for (let offset = 0; offset < bytes.length; offset += size) {
    if (response.destroyed) return;
    response.write(bytes.subarray(offset, offset + size));
    await new Promise<void>((resolve) => realSetTimeout(resolve, 0));
  }
  response.end();
}

async function serveChat(
  wire: MockWire,
  behavior: MockBehavior,
  body: unknown,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  markServerEnded: () => void,
): Promise<void> {
  switch (behavior.kind) {
    case 'status':
      sendJson(response, behavior.status, behavior.body ?? wire.errorBody(behavior.status), behavior.headers);
      return;
    case 'stall':
      return; // the response stays open until the client aborts or the mock closes
    case 'hangup':
      markServerEnded();
      request.socket.destroy();
      return;
    case 'stream':
      await serveStream(wire, behavior, answerFor(behavior, body, wire), response, markServerEnded);
      return;
    case 'replay':
      await serveReplay(behavior, response);
      return;
    case 'reply': {
      if (!(await pause(behavior.delayMs ?? 0, response))) return;
      const answer = answerFor(behavior, body, wire);
      if (asRecord(body)?.['stream'] === true) {
        await serveStream(wire, { kind: 'stream', deltas: answer.deltas }, answer, response, markServerEnded);
      } else {
        sendJson(response, 200, wire.json(answer));
      }
      return;
    }
  }
}

/** Starts a mock provider on a free loopback port. */
export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const flavor = options.flavor ?? 'openai';
  const wire = wireFor(flavor);
  const models = options.models ?? wire.defaultModels;
  const state = createMockState();

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = parseBody(await readBody(request));
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const pathname = path.split('?')[0] ?? '/';
    if (pathname.startsWith('/__mock/')) return serveControl(state, method, pathname, body, response);

    const headers = lowerCaseHeaders(request);
    const call = state.record({ method, path, headers, body, aborted: false, startedAt: Date.now() });
    let serverEnded = false;
    response.on('close', () => {
      if (!response.writableFinished && !serverEnded && !state.closing) state.markAborted(call);
    });

    if (method === 'GET' && pathname === '/v1/models') {
      const problem = wire.checkRequest(headers, {}, options.apiKey);
      if (problem?.status === 401) return sendJson(response, 401, problem.body);
      return sendJson(response, 200, wire.modelList(models));
    }
    if (method === 'POST' && wire.countTokensPath !== undefined && pathname === wire.countTokensPath) {
      const problem = wire.checkRequest(headers, { max_tokens: 1, ...asRecord(body) }, options.apiKey);
      if (problem) return sendJson(response, problem.status, problem.body);
      return sendJson(response, 200, wire.countTokens?.(body));
    }
    if (method !== 'POST' || pathname !== wire.chatPath) return sendJson(response, 404, wire.errorBody(404));
    const problem = wire.checkRequest(headers, body, options.apiKey);
    if (problem) return sendJson(response, problem.status, problem.body);
    await serveChat(wire, state.nextBehavior(), body, request, response, () => {
      serverEnded = true;
    });
  }

  const server = http.createServer((request, response) => {
    // Writes after the client went away must not crash the test process.
    response.on('error', () => undefined);
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: { message: `mock provider failed: ${String(error)}`, type: 'server_error', param: null, code: null } });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    flavor,
    origin,
    baseUrl: flavor === 'anthropic' ? origin : `${origin}/v1`,
    script: (behaviors) => state.script(behaviors),
    setDefault: (behavior) => state.setDefault(behavior),
    calls: () => state.calls(),
    waitForCalls: (condition) => state.waitForCalls(condition),
    reset: () => state.reset(),
    close() {
      state.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
