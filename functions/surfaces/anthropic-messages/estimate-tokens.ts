/**
 * A token estimate for backends with no count endpoint of their own (OpenAI,
 * xAI and Groq have none; the bridge's tokenizer is a whole model load away):
 * about four characters of English per token, as OpenAI's own rule of thumb
 * says, over the text and the tool definitions a backend would receive.
 * Anthropic clients use count_tokens to decide when to compact a
 * conversation, so a figure that is close and never zero serves them;
 * the response says it is an estimate (`x-agent-token-count: estimate`).
 */
import { contentText, type ChatRequest } from '../../../protocol/chat-request.ts';

const CHARACTERS_PER_TOKEN = 4;
/** Roughly what each message's role and separators cost. */
const TOKENS_PER_MESSAGE = 4;

/** The estimated input tokens of `request`. */
export function estimateInputTokens(request: ChatRequest): number {
  let characters = 0;
  for (const message of request.messages) {
    characters += contentText(message.content).length;
    if (message.role === 'assistant') for (const call of message.tool_calls ?? []) characters += call.function.name.length + call.function.arguments.length;
  }
  if (request.tools) characters += JSON.stringify(request.tools).length;
  return Math.max(1, Math.ceil(characters / CHARACTERS_PER_TOKEN) + TOKENS_PER_MESSAGE * request.messages.length);
}
