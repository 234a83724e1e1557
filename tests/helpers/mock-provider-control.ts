/**
 * The mock provider's HTTP control plane (`/__mock/*`), so tests that cannot
 * hold the Node object (inside workerd, another process) can script it with
 * `mockProviderClient`.
 */
import type http from 'node:http';
import type { MockState } from './mock-provider-state.ts';
import { MOCK_CONTROL_PATHS, mockDefaultBodySchema, mockScriptBodySchema, mockWaitBodySchema } from './mock-provider-types.ts';

/** Writes a JSON (or, for a string, plain text) response. */
export function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    ...headers,
  });
  response.end(text);
}

function controlError(response: http.ServerResponse, status: number, message: string, type = 'invalid_request_error'): void {
  sendJson(response, status, { error: { message, type, param: null, code: null } });
}

/** Answers one control-plane request. */
export async function serveControl(state: MockState, method: string, pathname: string, body: unknown, response: http.ServerResponse): Promise<void> {
  if (method === 'POST' && pathname === MOCK_CONTROL_PATHS.script) {
    const parsed = mockScriptBodySchema.safeParse(body);
    if (!parsed.success) return controlError(response, 400, parsed.error.message);
    state.script(parsed.data.behaviors);
    return sendJson(response, 200, { queued: state.queued() });
  }
  if (method === 'POST' && pathname === MOCK_CONTROL_PATHS.default) {
    const parsed = mockDefaultBodySchema.safeParse(body);
    if (!parsed.success) return controlError(response, 400, parsed.error.message);
    state.setDefault(parsed.data.behavior);
    return sendJson(response, 200, { ok: true });
  }
  if (method === 'GET' && pathname === MOCK_CONTROL_PATHS.calls) return sendJson(response, 200, { calls: state.calls() });
  if (method === 'POST' && pathname === MOCK_CONTROL_PATHS.wait) {
    const parsed = mockWaitBodySchema.safeParse(body === '' ? {} : body);
    if (!parsed.success) return controlError(response, 400, parsed.error.message);
    try {
      return sendJson(response, 200, { calls: await state.waitForCalls(parsed.data) });
    } catch (error) {
      return controlError(response, 408, error instanceof Error ? error.message : 'timed out', 'timeout_error');
    }
  }
  if (method === 'POST' && pathname === MOCK_CONTROL_PATHS.reset) {
    state.reset();
    return sendJson(response, 200, { ok: true });
  }
  controlError(response, 404, `no mock control route ${method} ${pathname}`);
}
