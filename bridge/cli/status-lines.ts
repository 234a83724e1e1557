/** Status lines for the daemon: the MLX worker's and the tunnel's events in words. */
import type { BridgeClientStatus } from '../connection/bridge-client.ts';
import type { MlxStatus } from '../runners/mlx/mlx-runner.ts';
import { formatBytes, formatDuration } from './format.ts';

/** One line for an MLX worker status, or undefined for ones not worth a line. */
export function describeMlxStatus(status: MlxStatus): string | undefined {
  switch (status.kind) {
    case 'worker-started':
      return `mlx: worker started (pid ${status.pid ?? '?'})`;
    case 'worker-ready':
      return `mlx: mlx-lm ${status.mlxLmVersion} ready (mlx ${status.mlxVersion})`;
    case 'worker-exited':
      if (status.exit.reason === 'exited' && status.failedRequests === 0) return 'mlx: worker stopped';
      return `mlx: ${status.exit.message}${status.failedRequests > 0 ? `; failed ${status.failedRequests} request(s)` : ''}; the next request starts a new worker`;
    case 'loading':
      return `mlx: loading ${status.modelId}…`;
    case 'loaded':
      return `mlx: loaded ${status.modelId} (${formatBytes(status.bytes)}) in ${formatDuration(status.loadMs)}`;
    case 'unloaded':
      return `mlx: unloaded ${status.modelIds.join(', ')} (${status.reason})`;
  }
}

/** One line for a tunnel state change. */
export function describeClientStatus(status: BridgeClientStatus): string {
  switch (status.state) {
    case 'connected':
      return 'connected to the gateway';
    case 'connecting':
      return status.attempt > 0 ? `connecting (attempt ${status.attempt + 1})…` : 'connecting…';
    case 'waiting':
      return `disconnected${status.reason ? ` (${status.reason})` : ''}; retrying in ${formatDuration(status.retryInMs ?? 0)}`;
    case 'auth_failed':
      return `the gateway refused the token${status.reason ? ` (${status.reason})` : ''}: store the gateway's BRIDGE_TOKEN again with \`npm run bridge -- login\` (or check BRIDGE_TOKEN / --token, which win over it)`;
    case 'superseded':
      return 'another bridge connected with the same token and took over; stopping';
    case 'rejected':
      return `the gateway rejected this bridge${status.reason ? `: ${status.reason}` : ''}`;
    default:
      return status.state;
  }
}
