import { describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../../bridge/config.ts';
import { builtinRunnerFactories } from '../../../bridge/runners/builtin-runners.ts';
import { RunnerRegistry } from '../../../bridge/runners/registry.ts';
import { GatewayError, invalidRequest } from '../../../protocol/gateway-error.ts';
import { defaultRuntimeDeps } from '../../../protocol/runtime-deps.ts';
import { gatewayErrorFromTunnel, tunnelError, tunnelErrorFromThrown } from '../../../protocol/tunnel-errors.ts';
import { tunnelFrameSchema } from '../../../protocol/tunnel-frames.ts';

function failureOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

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

  it('sends what a runner throws over the tunnel with its code, message and retry policy', () => {
    const thrown = tunnelError('insufficient_memory', 'Needs 40 GB', { retryAfterMs: 10.4 });
    expect(tunnelErrorFromThrown(thrown)).toEqual({ code: 'insufficient_memory', message: 'Needs 40 GB', retryable: true, retryAfterMs: 10 });
  });

  it('carries the field a bad request is about across the tunnel, so the 400 names it', () => {
    const info = tunnelErrorFromThrown(tunnelError('bad_request', 'Image parts are not supported', { param: 'messages[0].content' }));
    expect(info).toEqual({ code: 'bad_request', message: 'Image parts are not supported', retryable: false, param: 'messages[0].content' });
    expect(tunnelFrameSchema.safeParse({ v: 1, t: 'err', id: 'r1', ...info }).success).toBe(true);
    expect(gatewayErrorFromTunnel(info)).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'messages[0].content', callerFault: true });
  });

  it("sends the registry's refusals as runner_unavailable, a 503 a backup model can serve", () => {
    const registry = new RunnerRegistry(builtinRunnerFactories(), { config: loadBridgeConfig({ config: undefined }, { HOME: '/nonexistent-home' }), deps: defaultRuntimeDeps, log: () => undefined });
    for (const [name, message] of [
      ['vllm', "The 'vllm' runner is not configured on this bridge (set VLLM_BASE_URL)"],
      ['llamacpp', "No runner named 'llamacpp' is registered in this bridge (known: mlx, vllm)"],
    ] as const) {
      const info = tunnelErrorFromThrown(failureOf(() => registry.getRunner(name)));
      expect(info).toEqual({ code: 'runner_unavailable', message, retryable: true });
      expect(gatewayErrorFromTunnel(info)).toMatchObject({ status: 503, type: 'service_unavailable', code: 'runner_unavailable', retryable: true, callerFault: false });
    }
  });

  it('reads no code from an HTTP status: a shared validator’s 400 is a bad request, any other uncoded error internal', () => {
    expect(tunnelErrorFromThrown(invalidRequest('max_tokens must be positive', 'max_tokens'))).toMatchObject({ code: 'bad_request', param: 'max_tokens' });
    expect(tunnelErrorFromThrown(new GatewayError({ status: 507, type: 'server_error', message: 'm' })).code).toBe('internal');
  });

  it('never sends the details of an unexpected exception', () => {
    const info = tunnelErrorFromThrown(new Error('ENOENT /Users/me/secret-path'));
    expect(info.code).toBe('internal');
    expect(info.message).not.toContain('secret-path');
  });
});
