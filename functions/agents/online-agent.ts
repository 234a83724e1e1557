/**
 * The agent for cloud models (`openai/…`, `anthropic/…`, `xai/…`, `groq/…`):
 * the primary provider, then the backups in order, through the shared chain.
 */
import { BaseAgent, type AgentOptions } from './base-agent.ts';

export class OnlineAgent extends BaseAgent {
  constructor(options: AgentOptions) {
    super(options, 'online');
  }
}
