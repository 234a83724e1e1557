import { describe, expect, it } from 'vitest';
import { GatewayError, invalidRequest } from '../../protocol/gateway-error.ts';
import { gatewayErrorFromTunnel, tunnelError } from '../../protocol/tunnel-errors.ts';
import { streamBroken, unreachable } from '../providers/shared/upstream-fetch.ts';
import { backupCannotServe, countsAgainstBreaker, movesOnAtOnce, provesTargetAlive, retriesSameTarget } from './failure-policy.ts';

const upstream503 = new GatewayError({ status: 503, type: 'upstream_error', code: 'upstream_error', message: 'down', retryable: true });
const upstream400 = new GatewayError({ status: 400, type: 'invalid_request_error', code: 'invalid_request', message: 'bad', callerFault: true });
const tooLong = new GatewayError({ status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', message: 'too long', callerFault: true });
const refusedHere = invalidRequest("Unsupported parameter 'logprobs' for groq.", 'logprobs', 'unsupported_parameter');

describe('what a failure means to the chain', () => {
  it('retries a retryable failure on the same target, but never an offline bridge or a bridge without a runner', () => {
    expect(retriesSameTarget(upstream503)).toBe(true);
    expect(retriesSameTarget(tunnelError('bridge_offline', 'offline'))).toBe(false);
    expect(retriesSameTarget(tunnelError('bridge_unresponsive', 'no ack'))).toBe(false);
    expect(retriesSameTarget(gatewayErrorFromTunnel({ code: 'internal', message: 'x', retryable: true }))).toBe(true);
    expect(retriesSameTarget(new GatewayError({ status: 503, type: 'service_unavailable', code: 'runner_unavailable', message: 'no vLLM', retryable: true }))).toBe(false);
  });

  it("counts only the target's own failures against its breaker", () => {
    expect(countsAgainstBreaker(upstream503)).toBe(true);
    expect(countsAgainstBreaker(tunnelError('load_failed', 'bad weights'))).toBe(true);
    expect(countsAgainstBreaker(tunnelError('bridge_offline', 'offline'))).toBe(false);
    expect(countsAgainstBreaker(tunnelError('bridge_unresponsive', 'no ack'))).toBe(false);
    expect(countsAgainstBreaker(tunnelError('busy', 'queue full'))).toBe(false);
    expect(countsAgainstBreaker(upstream400)).toBe(false);
  });

  it('takes a refusal as proof of life only when the target itself sent it', () => {
    expect(provesTargetAlive(upstream400)).toBe(true);
    expect(provesTargetAlive(gatewayErrorFromTunnel({ code: 'bad_request', message: 'x', retryable: false }))).toBe(true);
    expect(provesTargetAlive(refusedHere)).toBe(false);
    expect(provesTargetAlive(upstream503)).toBe(false);
  });

  it("skips a backup for any caller fault but the prompt's length; the primary's caller faults go to the caller", () => {
    expect(backupCannotServe(upstream400, 1)).toBe(true);
    expect(backupCannotServe(refusedHere, 2)).toBe(true);
    expect(backupCannotServe(tooLong, 1)).toBe(false);
    expect(backupCannotServe(upstream400, 0)).toBe(false);
  });

  it('leaves a target that refused the connection at once, but waits out a target that answered or timed out', () => {
    const refused = unreachable('xai', new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
    expect(movesOnAtOnce(refused)).toBe(true);
    expect(movesOnAtOnce(unreachable('xai', new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } })))).toBe(true);
    expect(movesOnAtOnce(unreachable('xai', new TypeError('fetch failed', { cause: { code: 'UND_ERR_CONNECT_TIMEOUT' } })))).toBe(false);
    expect(movesOnAtOnce(upstream503)).toBe(false);
    expect(movesOnAtOnce(streamBroken('openai', false, 'broke off'))).toBe(false);
  });
});
