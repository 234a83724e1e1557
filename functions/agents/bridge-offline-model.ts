/**
 * The local model while no bridge tunnel can be reached: every call fails with
 * the 503 `bridge_offline` the contract promises, so the LocalAgent moves on to
 * the backups or the client hears when to try again.
 */
import type { ChatEvent } from '../../protocol/chat-events.ts';
import type { ChatModel } from '../../protocol/chat-model.ts';
import { GatewayError } from '../../protocol/gateway-error.ts';

/** How soon a client may try again when the bridge is offline. */
export const BRIDGE_OFFLINE_RETRY_AFTER_MS = 5_000;

/** The 503 for a local model while no bridge is connected. */
export function bridgeOffline(modelId: string): GatewayError {
  return new GatewayError({
    status: 503,
    type: 'service_unavailable',
    code: 'bridge_offline',
    message: `No bridge is connected, so 'local/${modelId}' cannot be served. Start the bridge on your Mac (npm run bridge) and try again.`,
    retryAfterMs: BRIDGE_OFFLINE_RETRY_AFTER_MS,
  });
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
