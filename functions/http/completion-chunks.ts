/**
 * ChatEvents as OpenAI `chat.completion.chunk` objects, in SSE text: the role
 * chunk first, one chunk per delta, a finish chunk, then (when the client set
 * `stream_options.include_usage`, and the backend reported usage) a usage chunk
 * with `choices: []`. Progress events become SSE comments, which clients ignore.
 */
import type { ChatEvent, FinishReason, TokenLogprob, Usage } from '../../protocol/chat-events.ts';
import type { ChatCompletionChunk } from '../../protocol/chat-response.ts';
import { encodeSseComment, encodeSseData } from '../../protocol/sse.ts';

export interface ChunkIdentity {
  /** `chatcmpl-…`, the same on every chunk of one completion. */
  id: string;
  /** Seconds since the epoch. */
  created: number;
  /** The full `provider/model` that serves. */
  model: string;
  includeUsage: boolean;
}

type Delta = ChatCompletionChunk['choices'][number]['delta'];

export interface ChunkEncoder {
  /** The first chunk: `delta: {role: 'assistant', content: ''}`. */
  start(): string;
  /** The SSE text for one event ('' when it has none). */
  encode(event: ChatEvent): string;
}

/** An encoder for one completion's chunks. */
export function createChunkEncoder(identity: ChunkIdentity): ChunkEncoder {
  // OpenAI sends `usage: null` on every chunk but the last when usage was asked for.
  const usageField = identity.includeUsage ? { usage: null } : {};

  // A text delta is the chunk sent thousands of times per answer: its JSON is
  // the same around the text every time, so only the text is serialized
  // (byte for byte what JSON.stringify of the whole chunk gives).
  const textHead = `data: {"id":${JSON.stringify(identity.id)},"object":"chat.completion.chunk","created":${JSON.stringify(identity.created)},"model":${JSON.stringify(identity.model)},"choices":[{"index":0,"delta":{`;
  const textTail = `},"logprobs":null,"finish_reason":null}]${identity.includeUsage ? ',"usage":null' : ''}}\n\n`;
  const textChunk = (field: 'content' | 'reasoning_content' | 'refusal', text: string): string => `${textHead}"${field}":${JSON.stringify(text)}${textTail}`;

  function chunk(delta: Delta, finishReason: FinishReason | null = null, logprobs: TokenLogprob[] | undefined = undefined): string {
    const value: ChatCompletionChunk = {
      id: identity.id,
      object: 'chat.completion.chunk',
      created: identity.created,
      model: identity.model,
      choices: [{ index: 0, delta, logprobs: logprobs ? { content: logprobs, refusal: null } : null, finish_reason: finishReason }],
      ...usageField,
    };
    return encodeSseData(value);
  }

  function usageChunk(usage: Usage): string {
    const value: ChatCompletionChunk = { id: identity.id, object: 'chat.completion.chunk', created: identity.created, model: identity.model, choices: [], usage };
    return encodeSseData(value);
  }

  return {
    start: () => chunk({ role: 'assistant', content: '' }),
    encode(event) {
      switch (event.type) {
        case 'text-delta':
          // A delta with logprobs is the rare one: the whole chunk is built for it.
          if (event.text === '') return '';
          return event.logprobs === undefined ? textChunk('content', event.text) : chunk({ content: event.text }, null, event.logprobs);
        case 'reasoning-delta':
          return event.text === '' ? '' : textChunk('reasoning_content', event.text);
        case 'refusal-delta':
          return event.text === '' ? '' : textChunk('refusal', event.text);
        case 'tool-call-delta': {
          const call: NonNullable<Delta['tool_calls']>[number] = { index: event.index, function: { arguments: event.arguments } };
          if (event.id !== undefined) {
            call.id = event.id;
            call.type = 'function';
          }
          if (event.name !== undefined) call.function.name = event.name;
          return chunk({ tool_calls: [call] });
        }
        case 'progress': {
          const count = event.done !== undefined && event.total !== undefined ? ` ${event.done}/${event.total}` : '';
          return encodeSseComment(`progress ${event.phase}${count}`);
        }
        case 'finish': {
          const finish = chunk({}, event.finishReason);
          // No figures from the backend: every chunk already said `usage: null`; zeros would be invented.
          if (!identity.includeUsage || event.usage === undefined) return finish;
          return finish + usageChunk(event.usage);
        }
      }
    },
  };
}
