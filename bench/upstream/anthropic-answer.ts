/**
 * The bench upstream's Anthropic Messages answer (`POST /v1/messages`), for
 * measuring the gateway's Anthropic path beside its OpenAI one: the same
 * pieces as the OpenAI answer (upstreamPieces), one `content_block_delta` each
 * when streaming, in Anthropic's event order, all in one write.
 */
import type { ServerResponse } from 'node:http';

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Writes the whole answer for `pieces` to `response`. */
export function answerAnthropic(response: ServerResponse, model: string, pieces: readonly string[], stream: boolean): void {
  const usage = { input_tokens: 5, output_tokens: pieces.length };
  const message = { id: 'msg_bench', type: 'message', role: 'assistant', model, stop_reason: null, stop_sequence: null };
  if (!stream) {
    const text = JSON.stringify({ ...message, content: [{ type: 'text', text: pieces.join('') }], stop_reason: 'end_turn', usage });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let text = event('message_start', { type: 'message_start', message: { ...message, content: [], usage: { input_tokens: 5, output_tokens: 1 } } });
  text += event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  for (const piece of pieces) text += event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
  text += event('content_block_stop', { type: 'content_block_stop', index: 0 });
  text += event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pieces.length } });
  response.end(text + event('message_stop', { type: 'message_stop' }));
}
