/**
 * The gateway's ChatEvents as the Responses API's semantic events, and the
 * Response they add up to. One state machine serves both modes: a streaming
 * request sends every event it returns, a non-streaming one keeps only the
 * final `response()`, so the two can never disagree about the output.
 *
 * Items open as content arrives (reasoning, then a message, then function
 * calls, in whatever order the model produces them): a reasoning or message
 * item closes when something else starts; function calls stay open until the
 * finish, since a model may interleave the argument deltas of parallel calls.
 */
import type { ChatEvent, FinishReason } from '../../../protocol/chat-events.ts';
import { itemId, type OutputItemType } from './response-ids.ts';
import {
  toResponsesUsage,
  type FunctionCallItem,
  type MessageItem,
  type OutputItem,
  type ReasoningItem,
  type ResponseObject,
} from './response-object.ts';

/** One event of the stream: its `type`, its place, and its payload. */
export type ResponsesEvent = { type: string; sequence_number: number } & Record<string, unknown>;

export interface ResponseEncoder {
  /** `response.created` and `response.in_progress`. */
  start(): ResponsesEvent[];
  /** The events for one ChatEvent; a `finish` closes every open item (the terminal event comes from `complete`). */
  encode(event: ChatEvent): ResponsesEvent[];
  /** `response.completed` (or `response.incomplete` after a length or content-filter stop). */
  complete(): ResponsesEvent[];
  /** A failure after commit: `error`, then `response.failed`; never a clean end. */
  fail(error: { code: string; message: string; param: string | null }): ResponsesEvent[];
  /** The response as it stands (the final one after `complete`). */
  response(): ResponseObject;
}

function incompleteReason(finishReason: FinishReason): 'max_output_tokens' | 'content_filter' | undefined {
  if (finishReason === 'length') return 'max_output_tokens';
  if (finishReason === 'content_filter') return 'content_filter';
  return undefined;
}

/** An encoder for the response `shell` (from `responseShell`), whose item ids use `key`. */
export function createResponseEncoder(shell: ResponseObject, key: string): ResponseEncoder {
  const response: ResponseObject = structuredClone(shell);
  let sequence = 0;
  let out: ResponsesEvent[] = [];
  /** The open reasoning or message item, if any. */
  let current: { index: number; item: MessageItem | ReasoningItem } | undefined;
  /** Open function calls by the ChatEvent's tool index. */
  const calls = new Map<number, { index: number; item: FunctionCallItem }>();

  const emit = (type: string, payload: Record<string, unknown>): void => {
    out.push({ type, sequence_number: sequence++, ...structuredClone(payload) });
  };
  const drain = (): ResponsesEvent[] => {
    const events = out;
    out = [];
    return events;
  };

  function addItem<T extends OutputItem>(type: OutputItemType, make: (id: string) => T): { index: number; item: T } {
    const index = response.output.length;
    const item = make(itemId(type, key, index));
    response.output.push(item);
    emit('response.output_item.added', { output_index: index, item });
    return { index, item };
  }

  function closeItem(index: number, item: OutputItem, status: 'completed' | 'incomplete' = 'completed'): void {
    item.status = status;
    emit('response.output_item.done', { output_index: index, item });
  }

  function closeMessagePart(index: number, item: MessageItem): void {
    const contentIndex = item.content.length - 1;
    const part = item.content[contentIndex];
    if (!part) return;
    const place = { item_id: item.id, output_index: index, content_index: contentIndex };
    if (part.type === 'output_text') emit('response.output_text.done', { ...place, text: part.text, logprobs: [] });
    else emit('response.refusal.done', { ...place, refusal: part.refusal });
    emit('response.content_part.done', { ...place, part });
  }

  function closeCurrent(status: 'completed' | 'incomplete' = 'completed'): void {
    if (!current) return;
    const { index, item } = current;
    if (item.type === 'message') closeMessagePart(index, item);
    else {
      const part = item.summary[0];
      if (part) {
        const place = { item_id: item.id, output_index: index, summary_index: 0 };
        emit('response.reasoning_summary_text.done', { ...place, text: part.text });
        emit('response.reasoning_summary_part.done', { ...place, part });
      }
    }
    closeItem(index, item, status);
    current = undefined;
  }

  function reasoningDelta(text: string): void {
    if (current?.item.type !== 'reasoning') {
      closeCurrent();
      const opened = addItem<ReasoningItem>('reasoning', (id) => ({ type: 'reasoning', id, status: 'in_progress', summary: [] }));
      current = opened;
      const part = { type: 'summary_text' as const, text: '' };
      opened.item.summary.push({ ...part });
      emit('response.reasoning_summary_part.added', { item_id: opened.item.id, output_index: opened.index, summary_index: 0, part });
    }
    const { index, item } = current;
    const part = item.type === 'reasoning' ? item.summary[0] : undefined;
    if (!part) return;
    part.text += text;
    emit('response.reasoning_summary_text.delta', { item_id: item.id, output_index: index, summary_index: 0, delta: text });
  }

  function messageDelta(kind: 'output_text' | 'refusal', text: string): void {
    if (current?.item.type !== 'message') {
      closeCurrent();
      current = addItem<MessageItem>('message', (id) => ({ type: 'message', id, status: 'in_progress', role: 'assistant', content: [] }));
    }
    const { index } = current;
    const item = current.item as MessageItem;
    let part = item.content.at(-1);
    if (part?.type !== kind) {
      if (part) closeMessagePart(index, item);
      part = kind === 'output_text' ? { type: 'output_text', text: '', annotations: [], logprobs: [] } : { type: 'refusal', refusal: '' };
      item.content.push(part);
      emit('response.content_part.added', { item_id: item.id, output_index: index, content_index: item.content.length - 1, part });
    }
    const place = { item_id: item.id, output_index: index, content_index: item.content.length - 1 };
    if (part.type === 'output_text') {
      part.text += text;
      emit('response.output_text.delta', { ...place, delta: text, logprobs: [] });
    } else {
      part.refusal += text;
      emit('response.refusal.delta', { ...place, delta: text });
    }
  }

  function toolCallDelta(event: Extract<ChatEvent, { type: 'tool-call-delta' }>): void {
    let call = calls.get(event.index);
    if (!call) {
      closeCurrent();
      call = addItem<FunctionCallItem>('function_call', (id) => ({
        type: 'function_call',
        id,
        status: 'in_progress',
        // Providers always name their calls; a made-up id keeps the output usable if one did not.
        call_id: event.id ?? `call_${id}`,
        name: event.name ?? '',
        arguments: '',
      }));
      calls.set(event.index, call);
    } else if (event.name && call.item.name === '') {
      call.item.name = event.name;
    }
    if (event.arguments === '') return;
    call.item.arguments += event.arguments;
    emit('response.function_call_arguments.delta', { item_id: call.item.id, output_index: call.index, delta: event.arguments });
  }

  function finish(event: Extract<ChatEvent, { type: 'finish' }>): void {
    const reason = incompleteReason(event.finishReason);
    // What the stop cut short is incomplete, as OpenAI marks it; items closed before it were whole.
    const status = reason ? 'incomplete' : 'completed';
    closeCurrent(status);
    for (const { index, item } of [...calls.values()].sort((a, b) => a.index - b.index)) {
      emit('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments });
      closeItem(index, item, status);
    }
    calls.clear();
    response.status = reason ? 'incomplete' : 'completed';
    response.incomplete_details = reason ? { reason } : null;
    response.usage = event.usage ? toResponsesUsage(event.usage) : null;
  }

  return {
    start() {
      emit('response.created', { response });
      emit('response.in_progress', { response });
      return drain();
    },
    encode(event) {
      switch (event.type) {
        case 'text-delta':
          if (event.text !== '') messageDelta('output_text', event.text);
          break;
        case 'refusal-delta':
          if (event.text !== '') messageDelta('refusal', event.text);
          break;
        case 'reasoning-delta':
          if (event.text !== '') reasoningDelta(event.text);
          break;
        case 'tool-call-delta':
          toolCallDelta(event);
          break;
        case 'progress':
          break;
        case 'finish':
          finish(event);
          break;
      }
      return drain();
    },
    complete() {
      emit(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response });
      return drain();
    },
    fail(error) {
      response.status = 'failed';
      response.error = { code: error.code, message: error.message };
      emit('error', { code: error.code, message: error.message, param: error.param });
      emit('response.failed', { response });
      return drain();
    },
    response: () => response,
  };
}
