/**
 * The agent for models on the user's own machine (`local/<id>`), reached
 * through the bridge tunnel. When the bridge is offline, the backups (if any)
 * serve at once, without a retry; the attempts say so.
 */
import { BaseAgent, type AgentOptions } from './base-agent.ts';

export class LocalAgent extends BaseAgent {
  constructor(options: AgentOptions) {
    super(options, 'local');
  }
}
