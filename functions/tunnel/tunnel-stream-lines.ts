/**
 * The stream a BridgeTunnel Durable Object answers a chat request with, read by
 * the tunnel ChatModel in the Worker: NDJSON, one line per batch of normalized
 * ChatEvents, plus a `meta` line naming the runner and at most one `error` line.
 * Both ends are the Worker's own code, but the stream crosses an isolate
 * boundary, so the reader validates it like any other input.
 */
import * as z from 'zod';
import { chatEventSchema, type ChatEvent } from '../../protocol/chat-events.ts';
import { RUNNER_NAME_PATTERN, TUNNEL_ERROR_CODES } from '../../protocol/tunnel-frames.ts';
import type { TunnelErrorInfo } from '../../protocol/tunnel-errors.ts';
import { safeParseJson } from '../../protocol/validate.ts';
import { isPlainTextEvents } from './text-delta-shape.ts';

const tunnelErrorSchema = z.object({
  code: z.enum(TUNNEL_ERROR_CODES),
  message: z.string(),
  retryable: z.boolean(),
  retryAfterMs: z.number().int().min(0).optional(),
  param: z.string().optional(),
});

export const tunnelStreamLineSchema = z.discriminatedUnion('t', [
  // The runner becomes the `x-agent-provider` header: only a header-safe name is believed.
  z.object({ t: z.literal('meta'), requestId: z.string(), runner: z.string().regex(RUNNER_NAME_PATTERN).optional() }),
  z.object({ t: z.literal('events'), events: z.array(chatEventSchema).min(1) }),
  z.object({ t: z.literal('error'), error: tunnelErrorSchema }),
]);

export type TunnelStreamLine =
  | { t: 'meta'; requestId: string; runner?: string }
  | { t: 'events'; events: ChatEvent[] }
  | { t: 'error'; error: TunnelErrorInfo };

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

const encoder = new TextEncoder();

/** One line, newline-terminated, as bytes. */
export function encodeStreamLine(line: TunnelStreamLine): Uint8Array {
  return encoder.encode(`${JSON.stringify(line)}\n`);
}

/** A whole one-line body: the DO's instant answer when it cannot even start (bridge offline). */
export function errorLineResponse(error: TunnelErrorInfo, status: number): Response {
  return new Response(encodeStreamLine({ t: 'error', error }), {
    status,
    headers: { 'content-type': NDJSON_CONTENT_TYPE },
  });
}

/** The common line, `{t: 'events', events}` of text pieces only, checked without zod (text-delta-shape.ts). */
function isPlainEventsLine(value: unknown): value is TunnelStreamLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const line = value as Record<string, unknown>;
  if (line.t !== 'events' || !isPlainTextEvents(line.events)) return false;
  let keys = 0;
  for (const _key in line) keys += 1;
  return keys === 2;
}

/**
 * Reads NDJSON lines from a byte stream and validates each. A line that is not
 * a valid TunnelStreamLine ends the stream with `{ok: false}`.
 */
export async function* readStreamLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<{ ok: true; line: TunnelStreamLine } | { ok: false }, void, undefined> {
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      if (text === '') continue;
      const json = safeParseJson(text);
      if (json.ok && isPlainEventsLine(json.value)) {
        yield { ok: true, line: json.value };
        continue;
      }
      const parsed = json.ok ? tunnelStreamLineSchema.safeParse(json.value) : undefined;
      if (!parsed?.success) {
        yield { ok: false };
        return;
      }
      yield { ok: true, line: parsed.data };
    }
    if (done) return;
  }
}
