/**
 * Anthropic's Messages API wire format as the mock provider writes it: the full
 * event sequence (message_start, content_block_start/delta/stop, ping,
 * message_delta, message_stop), its error bodies and its models list.
 */
import { encodeSseEvent } from '../../protocol/sse.ts';
import { asRecord, splitArguments, type MockAnswer, type MockWire } from './mock-provider-wire.ts';

let sequence = 0;

const ERROR_TYPES: Record<number, [type: string, message: string]> = {
  400: ['invalid_request_error', 'Invalid request (mock).'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'model: mock-model'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

function errorBody(type: string, message: string): unknown {
  sequence += 1;
  return { type: 'error', error: { type, message }, request_id: `req_mock${sequence}` };
}

function anthropicErrorBody(status: number): unknown {
  const known = ERROR_TYPES[status];
  if (known) return errorBody(known[0], known[1]);
  return errorBody(status >= 500 ? 'api_error' : 'invalid_request_error', `Upstream answered ${status} (mock).`);
}

/** OpenAI finish reasons in Anthropic's words; anything else passes as it is. */
function stopReasonOf(answer: MockAnswer): string {
  switch (answer.finishReason) {
    case undefined:
      return answer.toolCalls.length > 0 ? 'tool_use' : 'end_turn';
    case 'stop':
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return answer.finishReason;
  }
}

function usageObject(answer: MockAnswer): Record<string, unknown> {
  const { prompt_tokens, completion_tokens, cached_tokens = 0, cache_creation_tokens = 0 } = answer.usage;
  // Anthropic's input_tokens excludes the cached part; OpenAI's prompt_tokens includes it.
  return {
    input_tokens: Math.max(0, prompt_tokens - cached_tokens - cache_creation_tokens),
    cache_creation_input_tokens: cache_creation_tokens,
    cache_read_input_tokens: cached_tokens,
    output_tokens: completion_tokens,
  };
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text || '{}') as unknown;
  } catch {
    return {};
  }
}

/** The mock's count for a count_tokens body: the JSON length of its messages, system and tools over 4. */
export function mockTokenCount(body: unknown): number {
  const request = asRecord(body) ?? {};
  return Math.ceil(JSON.stringify([request['system'] ?? null, request['messages'] ?? [], request['tools'] ?? []]).length / 4);
}

export function anthropicWire(): MockWire {
  return {
    chatPath: '/v1/messages',
    countTokensPath: '/v1/messages/count_tokens',
    countTokens: (body) => ({ input_tokens: mockTokenCount(body) }),
    defaultModels: ['claude-sonnet-4-5', 'claude-haiku-4-5'],
    toolCallIdPrefix: 'toolu_mock_',

    checkRequest(headers, body, apiKey) {
      if (apiKey !== undefined && headers['x-api-key'] !== apiKey) return { status: 401, body: anthropicErrorBody(401) };
      if (!headers['anthropic-version']) return { status: 400, body: errorBody('invalid_request_error', 'anthropic-version: header is required') };
      const request = asRecord(body);
      if (!request) return { status: 400, body: errorBody('invalid_request_error', 'Request body must be a JSON object') };
      if (typeof request['model'] !== 'string') return { status: 400, body: errorBody('invalid_request_error', 'model: Field required') };
      if (typeof request['max_tokens'] !== 'number') return { status: 400, body: errorBody('invalid_request_error', 'max_tokens: Field required') };
      const messages = request['messages'];
      if (!Array.isArray(messages) || messages.length === 0) {
        return { status: 400, body: errorBody('invalid_request_error', 'messages: at least one message is required') };
      }
      for (const [index, message] of messages.entries()) {
        const role = asRecord(message)?.['role'];
        if (role !== 'user' && role !== 'assistant') {
          return { status: 400, body: errorBody('invalid_request_error', `messages.${index}.role: Input should be 'user' or 'assistant'`) };
        }
      }
      const temperature = request['temperature'];
      if (typeof temperature === 'number' && (temperature < 0 || temperature > 1)) {
        return { status: 400, body: errorBody('invalid_request_error', 'temperature: Input should be less than or equal to 1') };
      }
      return undefined;
    },

    json(answer) {
      sequence += 1;
      const content: unknown[] = [];
      const text = answer.deltas.join('');
      if (text !== '') content.push({ type: 'text', text });
      for (const call of answer.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseArguments(call.arguments) });
      return {
        id: `msg_mock${sequence}`,
        type: 'message',
        role: 'assistant',
        model: answer.model,
        content,
        stop_reason: stopReasonOf(answer),
        stop_sequence: null,
        usage: usageObject(answer),
      };
    },

    stream(answer) {
      sequence += 1;
      const usage = usageObject(answer);
      const start = [
        encodeSseEvent('message_start', {
          type: 'message_start',
          message: {
            id: `msg_mock${sequence}`,
            type: 'message',
            role: 'assistant',
            model: answer.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { ...usage, output_tokens: 1 },
          },
        }),
      ];
      const hasText = answer.deltas.length > 0;
      if (hasText) start.push(encodeSseEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
      start.push(encodeSseEvent('ping', { type: 'ping' }));
      const deltas = answer.deltas.map((text) =>
        encodeSseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
      );
      const tools: string[] = [];
      if (hasText) tools.push(encodeSseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }));
      answer.toolCalls.forEach((call, position) => {
        const index = position + (hasText ? 1 : 0);
        tools.push(
          encodeSseEvent('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }),
          encodeSseEvent('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } }),
          ...splitArguments(call.arguments).map((partial_json) =>
            encodeSseEvent('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }),
          ),
          encodeSseEvent('content_block_stop', { type: 'content_block_stop', index }),
        );
      });
      const end = [
        encodeSseEvent('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: stopReasonOf(answer), stop_sequence: null },
          usage: { output_tokens: answer.usage.completion_tokens },
        }),
        encodeSseEvent('message_stop', { type: 'message_stop' }),
      ];
      return { start, deltas, tools, end };
    },

    streamError() {
      return encodeSseEvent('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    },

    errorBody: anthropicErrorBody,

    modelList(models) {
      return {
        data: models.map((id) => ({ id, type: 'model', display_name: id, created_at: '2025-09-29T00:00:00Z' })),
        has_more: false,
        first_id: models[0] ?? null,
        last_id: models.at(-1) ?? null,
      };
    },
  };
}
