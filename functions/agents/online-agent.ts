/**
 * The agent for cloud models (`openai/…`, `anthropic/…`, `xai/…`, `groq/…`):
 * the primary provider, then the backups in order, through the shared chain.
 */
import { invalidRequest } from '../../protocol/gateway-error.ts';
import { BaseAgent, type AgentOptions } from './base-agent.ts';

export class OnlineAgent extends BaseAgent {
  readonly backend = 'online' as const;

  constructor(options: AgentOptions) {
    if (options.primary.transport !== 'online') {
      throw invalidRequest(`The online agent cannot serve '${options.primary.full}'.`, 'model');
    }
    super(options);
  }
}
