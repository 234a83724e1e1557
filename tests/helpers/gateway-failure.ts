/** The GatewayError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import { GatewayError } from '../../protocol/gateway-error.ts';

export async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!GatewayError.isInstance(error)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}
