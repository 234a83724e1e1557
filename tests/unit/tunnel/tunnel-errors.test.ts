import { describe, expect, it } from 'vitest';
import { GatewayError, invalidRequest } from '../../../protocol/gateway-error.ts';
import { gatewayErrorFromTunnel, tunnelErrorFromThrown } from '../../../protocol/tunnel-errors.ts';

describe('tunnel errors', () => {
  it.each([
    ['bridge_offline', 503, true, 5000],
    ['bridge_unresponsive', 503, true, 5000],
    ['busy', 429, true, 2000],
    ['model_not_found', 404, false, undefined],
    ['runner_unavailable', 503, true, undefined],
    ['insufficient_memory', 503, true, undefined],
    ['runner_crashed', 502, true, undefined],
    ['timeout', 504, true, undefined],
  ] as const)('maps err %s to HTTP %i', (code, status, retryable, retryAfterMs) => {
    const error = gatewayErrorFromTunnel({ code, message: 'm', retryable });
    expect(error).toMatchObject({ status, code, retryable, retryAfterMs });
    expect(error.callerFault).toBe(code === 'model_not_found');
  });

  it('keeps the retry-after the bridge asked for', () => {
    expect(gatewayErrorFromTunnel({ code: 'busy', message: 'm', retryable: true, retryAfterMs: 750 }).retryAfterMs).toBe(750);
  });

  it('sends a runner GatewayError over the tunnel with its code, message and retry policy', () => {
    const thrown = new GatewayError({ status: 507, type: 'server_error', message: 'Needs 40 GB', retryable: true, retryAfterMs: 10.4 });
    expect(tunnelErrorFromThrown(thrown)).toEqual({ code: 'insufficient_memory', message: 'Needs 40 GB', retryable: true, retryAfterMs: 10 });
  });

  it.each([
    ['runner_unavailable', 503, false, "The 'vllm' runner is not configured on this bridge (set VLLM_BASE_URL)"],
    ['unknown_runner', 500, false, "No runner named 'llamacpp' is registered in this bridge (known: mlx, vllm)"],
  ] as const)("sends the registry's %s as runner_unavailable, a 503 a backup model can serve", (code, status, retryable, message) => {
    const type = status === 503 ? 'service_unavailable' : 'server_error';
    const info = tunnelErrorFromThrown(new GatewayError({ status, type, code, message, retryable }));
    expect(info).toEqual({ code: 'runner_unavailable', message, retryable: true });
    expect(gatewayErrorFromTunnel(info)).toMatchObject({ status: 503, type: 'service_unavailable', code: 'runner_unavailable', retryable: true, callerFault: false });
  });

  it("carries a bad request's param across the tunnel, so the client's 400 names the field", () => {
    const info = tunnelErrorFromThrown(invalidRequest("this model's chat template has no tool calling", 'tools'));
    expect(info).toEqual({ code: 'bad_request', message: "this model's chat template has no tool calling", retryable: false, param: 'tools' });
    expect(gatewayErrorFromTunnel(info).toBody().error).toMatchObject({ type: 'invalid_request_error', param: 'tools', code: 'bad_request' });
  });

  it('never sends the details of an unexpected exception', () => {
    const info = tunnelErrorFromThrown(new Error('ENOENT /Users/me/secret-path'));
    expect(info.code).toBe('internal');
    expect(info.message).not.toContain('secret-path');
  });
});
