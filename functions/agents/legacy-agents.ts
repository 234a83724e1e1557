/**
 * The agent classes of the first version, kept so old call sites still
 * compile and run. Each is a thin wrapper: it fixes a model and builds the real
 * agent through the factory on every call, so routing, fallback, retries and
 * metadata are exactly those of the gateway. Migration: docs/agents.md.
 */
import type { ChatMessage, ChatRequest } from '../../protocol/chat-request.ts';
import type { AgentResult } from './agent-types.ts';
import { createAgent, type AgentFactoryOptions } from './factory.ts';

/** What `LlamaAgent` served: MLX Llama 3 on the user's Mac, through the bridge. */
export const LEGACY_LLAMA_MODEL = 'local/mlx-community/Meta-Llama-3-8B-Instruct-4bit';
/** What `Gpt4Agent` served. */
export const LEGACY_GPT4_MODEL = 'openai/gpt-4o';

/** A completions request whose model the wrapper supplies. */
export type LegacyAgentRequest = Omit<ChatRequest, 'model' | 'agent_type'>;

abstract class LegacyAgent {
  readonly model: string;
  private readonly factory: AgentFactoryOptions;

  constructor(factory: AgentFactoryOptions, model: string) {
    this.factory = factory;
    this.model = model;
  }

  /** Serves `request` with this wrapper's model, through the agent the factory picks. */
  run(request: LegacyAgentRequest, signal: AbortSignal = new AbortController().signal): Promise<AgentResult> {
    const full: ChatRequest = { ...request, model: this.model };
    return createAgent(full, undefined, this.factory).run(full, signal);
  }

  /** The old one-call API: the assistant's whole text for `messages`. */
  async chat(messages: ChatMessage[], signal?: AbortSignal): Promise<string> {
    const result = await this.run({ messages }, signal);
    let text = '';
    for await (const event of result.events) if (event.type === 'text-delta') text += event.text;
    return text;
  }
}

/**
 * @deprecated Build agents with `createAgent` and name the model, e.g.
 * `local/mlx-community/Meta-Llama-3-8B-Instruct-4bit` (docs/agents.md, "Migrating").
 */
export class LlamaAgent extends LegacyAgent {
  constructor(factory: AgentFactoryOptions, model: string = LEGACY_LLAMA_MODEL) {
    super(factory, model);
  }
}

/**
 * @deprecated Build agents with `createAgent` and name the model, e.g.
 * `openai/gpt-4o` (docs/agents.md, "Migrating").
 */
export class Gpt4Agent extends LegacyAgent {
  constructor(factory: AgentFactoryOptions, model: string = LEGACY_GPT4_MODEL) {
    super(factory, model);
  }
}
