/**
 * The OpenAI chat completions wire format (and Groq's variant of it, which adds
 * `x_groq` with the usage on the last chunk), as the mock provider writes it.
 */
import { encodeSseData, SSE_DONE } from '../../protocol/sse.ts';
import { asRecord, nowSeconds, splitArguments, type MockAnswer, type MockWire } from './mock-provider-wire.ts';

let sequence = 0;

function errorObject(message: string, type: string, code: string | null, param: string | null = null): unknown {
  return { error: { message, type, param, code } };
}

function openaiErrorBody(status: number): unknown {
  switch (status) {
    case 400:
      return errorObject('Invalid request (mock).', 'invalid_request_error', null);
    case 401:
      return errorObject(
        'Incorrect API key provided: sk-mock*****1234. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      );
    case 403:
      return errorObject('Country, region, or territory not supported', 'request_forbidden', 'unsupported_country_region_territory');
    case 404:
      return errorObject('The model `mock-model` does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found');
    case 422:
      return errorObject('Unprocessable request (mock).', 'invalid_request_error', null);
    case 429:
      return errorObject(
        'Rate limit reached for mock-model in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.',
        'requests',
        'rate_limit_exceeded',
      );
    case 500:
      return errorObject('The server had an error while processing your request. Sorry about that!', 'server_error', null);
    case 503:
      return errorObject('The engine is currently overloaded, please try again later', 'server_error', null);
    default:
      return errorObject(`Upstream answered ${status} (mock).`, status >= 500 ? 'server_error' : 'invalid_request_error', null);
  }
}

function usageObject(answer: MockAnswer): Record<string, unknown> {
  const { prompt_tokens, completion_tokens, cached_tokens } = answer.usage;
  return {
    prompt_tokens,
    completion_tokens,
    total_tokens: prompt_tokens + completion_tokens,
    prompt_tokens_details: { cached_tokens: cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function groqUsage(answer: MockAnswer): Record<string, unknown> {
  const { prompt_tokens, completion_tokens } = answer.usage;
  return {
    queue_time: 0.012,
    prompt_tokens,
    prompt_time: 0.004,
    completion_tokens,
    completion_time: 0.021,
    total_tokens: prompt_tokens + completion_tokens,
    total_time: 0.025,
  };
}

function finishReasonOf(answer: MockAnswer): string {
  return answer.finishReason ?? (answer.toolCalls.length > 0 ? 'tool_calls' : 'stop');
}

/** The OpenAI wire; `groq` adds Groq's `x_groq` fields. */
export function openaiWire(groq: boolean): MockWire {
  return {
    chatPath: '/v1/chat/completions',
    defaultModels: groq ? ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant'] : ['gpt-4o-mini', 'gpt-4o'],
    toolCallIdPrefix: 'call_mock_',

    checkRequest(headers, body, apiKey) {
      if (apiKey !== undefined) {
        const authorization = headers['authorization'];
        if (!authorization) {
          return {
            status: 401,
            body: errorObject("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.", 'invalid_request_error', null),
          };
        }
        if (authorization !== `Bearer ${apiKey}`) return { status: 401, body: openaiErrorBody(401) };
      }
      const request = asRecord(body);
      if (!request) return { status: 400, body: errorObject('We could not parse the JSON body of your request.', 'invalid_request_error', null) };
      if (typeof request['model'] !== 'string') {
        return { status: 400, body: errorObject('you must provide a model parameter', 'invalid_request_error', null) };
      }
      const messages = request['messages'];
      if (!Array.isArray(messages) || messages.length === 0) {
        return { status: 400, body: errorObject("[] is too short - 'messages'", 'invalid_request_error', 'empty_array', 'messages') };
      }
      return undefined;
    },

    json(answer) {
      sequence += 1;
      const content = answer.deltas.join('');
      const message: Record<string, unknown> = { role: 'assistant', content: content === '' && answer.toolCalls.length > 0 ? null : content, refusal: null, annotations: [] };
      if (answer.toolCalls.length > 0) {
        message['tool_calls'] = answer.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
      }
      const body: Record<string, unknown> = {
        id: `chatcmpl-mock${sequence}`,
        object: 'chat.completion',
        created: nowSeconds(),
        model: answer.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(answer) }],
        usage: groq ? { ...groqUsage(answer) } : usageObject(answer),
        service_tier: 'default',
        system_fingerprint: 'fp_mock',
      };
      if (groq) body['x_groq'] = { id: `req_mock${sequence}` };
      return body;
    },

    stream(answer) {
      sequence += 1;
      const id = `chatcmpl-mock${sequence}`;
      const created = nowSeconds();
      const chunk = (delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}): string =>
        encodeSseData({
          id,
          object: 'chat.completion.chunk',
          created,
          model: answer.model,
          system_fingerprint: 'fp_mock',
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
          // With include_usage every chunk carries `usage: null` until the usage chunk.
          ...(answer.includeUsage ? { usage: null } : {}),
          ...extra,
        });
      const start = [chunk({ role: 'assistant', content: '', refusal: null }, null, groq ? { x_groq: { id: `req_mock${sequence}` } } : {})];
      const deltas = answer.deltas.map((text) => chunk({ content: text }, null));
      const tools: string[] = [];
      answer.toolCalls.forEach((call, index) => {
        tools.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
        for (const piece of splitArguments(call.arguments)) {
          tools.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
        }
      });
      const end = [chunk({}, finishReasonOf(answer), groq ? { x_groq: { id: `req_mock${sequence}`, usage: groqUsage(answer) } } : {})];
      if (answer.includeUsage) {
        end.push(
          encodeSseData({ id, object: 'chat.completion.chunk', created, model: answer.model, system_fingerprint: 'fp_mock', choices: [], usage: usageObject(answer) }),
        );
      }
      end.push(SSE_DONE);
      return { start, deltas, tools, end };
    },

    streamError() {
      return encodeSseData(errorObject('The server had an error while processing your request. Sorry about that!', 'server_error', null));
    },

    errorBody: openaiErrorBody,

    modelList(models) {
      return { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: groq ? 'Meta' : 'system' })) };
    },
  };
}
