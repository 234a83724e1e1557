/**
 * The measuring client: node:http with a keep-alive agent (lighter and steadier
 * than fetch, so the client's own share of each figure stays small and equal
 * for every target), and an OpenAI stream reader built on protocol/sse.ts.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { readSseEvents } from '../../protocol/sse.ts';
import { safeParseJson } from '../../protocol/validate.ts';

export interface JsonResult {
  status: number;
  ms: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface StreamResult {
  status: number;
  /** From sending the request to the first SSE event carrying content. */
  ttftMs: number;
  /** From sending the request to the end of the body. */
  totalMs: number;
  /** From the first content event to the end of the body. */
  streamMs: number;
  headers: IncomingMessage['headers'];
  /** Every content piece, concatenated. */
  text: string;
  /** SSE events that carried content. */
  contentEvents: number;
  /** `data: [DONE]` arrived. */
  done: boolean;
  /** The first in-band error event, if any. */
  error: string | undefined;
}

/** One keep-alive agent per benchmark: connections are reused like a real client's. */
export function createAgent(maxSockets = 256): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

function send(url: string, body: unknown, headers: Record<string, string>, agent: Agent): Promise<IncomingMessage> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers },
    });
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
    outgoing.end(payload);
  });
}

/** POSTs `body` as JSON and reads the whole answer; `ms` covers both. */
export async function postJson(url: string, body: unknown, headers: Record<string, string>, agent: Agent): Promise<JsonResult> {
  const started = performance.now();
  const response = await send(url, body, headers, agent);
  const parts: Buffer[] = [];
  for await (const part of response) parts.push(part as Buffer);
  const ms = performance.now() - started;
  return { status: response.statusCode ?? 0, ms, headers: response.headers, body: Buffer.concat(parts).toString('utf8') };
}

function contentOf(data: string): { content?: string; error?: string } {
  const parsed = safeParseJson(data);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return {};
  const value = parsed.value as { choices?: Array<{ delta?: { content?: unknown } }>; error?: unknown };
  if (value.error !== undefined) return { error: JSON.stringify(value.error) };
  const content = value.choices?.[0]?.delta?.content;
  return typeof content === 'string' && content !== '' ? { content } : {};
}

/** POSTs a streaming request and reads the OpenAI event stream to its end. */
export async function postStream(url: string, body: unknown, headers: Record<string, string>, agent: Agent): Promise<StreamResult> {
  const started = performance.now();
  const response = await send(url, body, headers, agent);
  const status = response.statusCode ?? 0;
  let ttftMs = Number.NaN;
  let text = '';
  let contentEvents = 0;
  let done = false;
  let error: string | undefined;
  if (status !== 200) {
    const parts: Buffer[] = [];
    for await (const part of response) parts.push(part as Buffer);
    error = Buffer.concat(parts).toString('utf8');
  } else {
    const events = readSseEvents(Readable.toWeb(response) as unknown as ReadableStream<Uint8Array>);
    for await (const event of events) {
      if (event.data === '[DONE]') {
        done = true;
        continue;
      }
      const piece = contentOf(event.data);
      if (piece.error !== undefined) error ??= piece.error;
      if (piece.content === undefined) continue;
      if (contentEvents === 0) ttftMs = performance.now() - started;
      contentEvents += 1;
      text += piece.content;
    }
  }
  const totalMs = performance.now() - started;
  return { status, ttftMs, totalMs, streamMs: totalMs - ttftMs, headers: response.headers, text, contentEvents, done, error };
}
