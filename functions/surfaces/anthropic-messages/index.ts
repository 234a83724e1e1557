/** The Anthropic Messages surface: its request schema and translation, its stream and JSON answers, its errors. */
export { messagesRequestSchema, countTokensRequestSchema, type MessagesRequest, type CountTokensRequest } from './messages-request.ts';
export { messagesToChatRequest, countTokensToChatRequest, type TranslatedRequest } from './messages-to-chat-request.ts';
export { nativeMessagesRequest } from './native-request.ts';
export { messagesSseResponse } from './messages-sse-response.ts';
export { collectMessage } from './messages-json.ts';
export { messageId, type MessageResponse } from './anthropic-message.ts';
export { anthropicErrorBody, anthropicErrorStatus, anthropicErrorType, type AnthropicErrorBody } from './anthropic-error.ts';
export { estimateInputTokens } from './estimate-tokens.ts';
