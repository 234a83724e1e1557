/** The OpenAI Responses surface: the request, its translation to the chat request, the event stream and the store. */
export { responsesRequestSchema, type ResponsesRequest } from './responses-request.ts';
export { toChatRequest, renameChatParam } from './to-chat-request.ts';
export { loadContinuation } from './response-history.ts';
export { newResponseKey, parseResponseId, responseId } from './response-ids.ts';
export { responseShell, type ResponseObject } from './response-object.ts';
export { createResponseEncoder, type ResponseEncoder, type ResponsesEvent } from './response-event-encoder.ts';
export { responsesSse } from './responses-sse.ts';
export { collectResponse } from './responses-json.ts';
export { responseStoreFor, createResponseStore, STORED_RESPONSE_TTL_MS, type ResponseStore } from './response-store.ts';
