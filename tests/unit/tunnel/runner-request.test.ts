/**
 * How the bridge reads the chat body of a `req` frame from a gateway that may be
 * a version ahead: unknown fields are dropped wherever they sit, known fields in
 * a shape it cannot read are a 400 naming the field (never echoing its value).
 */
import { describe, expect, it } from 'vitest';
import { readRunnerRequest } from '../../../bridge/connection/runner-request.ts';
import type { RequestBody } from '../../../protocol/tunnel-frames.ts';

describe('reading a request body on the bridge', () => {
  it('keeps a request it fully understands as it is', () => {
    const body: RequestBody = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, stop: ['\n\n'] };
    expect(readRunnerRequest(body)).toEqual({ ok: true, request: body, ignored: [] });
  });

  it('drops unknown fields at the top, on messages, inside content parts and in nested options', () => {
    const result = readRunnerRequest({
      model: 'tiny',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'be brief', x_future_part_hint: { type: 'ephemeral' } }] },
        { role: 'user', content: 'hi', x_future_hint: 'none' },
      ],
      x_future_knob: 'low',
      stream_options: { include_usage: true, x_future_option: false },
    });
    expect(result).toEqual({
      ok: true,
      request: {
        model: 'tiny',
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'be brief' }] },
          { role: 'user', content: 'hi' },
        ],
        stream_options: { include_usage: true },
      },
      ignored: expect.arrayContaining(['x_future_knob', 'messages.0.content.0.x_future_part_hint', 'messages.1.x_future_hint', 'stream_options.x_future_option']),
    });
  });

  it('refuses a known field it cannot read with a 400 naming the field, not its value', () => {
    const result = readRunnerRequest({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 'plenty-of-secret-tokens' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'max_tokens' });
    expect(result.error.message).not.toContain('plenty-of-secret-tokens');
  });

  it('refuses a message role it does not know rather than guessing', () => {
    const result = readRunnerRequest({ messages: [{ role: 'narrator', content: 'once upon a time' }] });
    expect(result.ok).toBe(false);
  });

  it('does not change the body it was given', () => {
    const body: RequestBody = { messages: [{ role: 'user', content: 'hi', extra: 1 }], extra: 2 };
    readRunnerRequest(body);
    expect(body).toEqual({ messages: [{ role: 'user', content: 'hi', extra: 1 }], extra: 2 });
  });
});
