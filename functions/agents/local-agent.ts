/**
 * The agent for models on the user's own machine (`local/<id>`), reached
 * through the bridge tunnel. When the bridge is offline, the backups (if any)
 * serve instead; the attempts say so.
 */
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { invalidRequest } from '../../protocol/gateway-error.ts';
import { BaseAgent, type AgentOptions } from './base-agent.ts';

export class LocalAgent extends BaseAgent {
  readonly backend = 'local' as const;

  constructor(options: AgentOptions) {
    if (options.primary.transport !== 'local') {
      throw invalidRequest(`The local agent cannot serve '${options.primary.full}'.`, 'model');
    }
    super(options);
  }

  /** An offline bridge will not come back within a backoff: go straight to the backups. */
  protected override retriesSameTarget(error: GatewayError): boolean {
    return error.retryable && error.code !== 'bridge_offline';
  }
}
