/**
 * The agent for models on the user's own machine (`local/<id>`), reached
 * through the bridge tunnel. When the bridge is offline, the backups (if any)
 * serve at once, without a retry; the attempts say so.
 */
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
}
