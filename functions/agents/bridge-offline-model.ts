/**
 * The local model while no bridge tunnel can be reached: every call fails with
 * the 503 `bridge_offline` the contract promises, so the LocalAgent moves on to
 * the backups or the client hears when to try again. The error is the
 * tunnel's own (protocol/tunnel-errors.ts), so both paths answer alike.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel } from '../../protocol/chat-model.ts';
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';

export { BRIDGE_OFFLINE_RETRY_AFTER_MS } from '../../protocol/tunnel-errors.ts';

/** The 503 for a local model while no bridge is connected, with its Retry-After. */
export function bridgeOffline(modelId: string): GatewayError {
  return tunnelError(
    'bridge_offline',
    `No bridge is connected, so 'local/${modelId}' cannot be served. Start the bridge on your Mac (npm run bridge) and try again.`,
  );
}

/** A ChatModel for `local/<modelId>` that always answers `bridge_offline`. */
export function createBridgeOfflineModel(modelId: string): ChatModel {
  return {
    provider: 'local',
    modelId: `local/${modelId}`,
    // eslint-disable-next-line require-yield -- it fails before its first event, by design
    async *stream(): AsyncGenerator<ChatEvent, void, undefined> {
      throw bridgeOffline(modelId);
    },
  };
}
