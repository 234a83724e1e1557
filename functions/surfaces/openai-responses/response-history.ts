/**
 * What a request continues from: the conversation of its
 * `previous_response_id`, and the stored items its `item_reference`s name.
 * Both need the response to have been stored (`store: true`) and unexpired;
 * otherwise the answer is a 400 naming the field, as OpenAI's is.
 */
import { invalidRequest } from '../../../protocol/gateway-error.ts';
import { parseItemId, parseResponseId } from './response-ids.ts';
import type { ResponseStore, StoredConversation } from './response-store.ts';
import type { ResolvedInputItem, ResponsesInputItem, ResponsesRequest } from './responses-request.ts';
import { inputItems } from './to-chat-request.ts';

export interface Continuation {
  /** The items before this request's input (empty without `previous_response_id`). */
  history: ResolvedInputItem[];
  /** This request's input, references replaced by the items they name. */
  input: ResolvedInputItem[];
}

const NOT_STORED_HINT =
  'Only responses created with store: true are kept (for 30 days). With the AI SDK, either pass providerOptions.openai.store = true on every call, or store = false so it sends the items themselves.';

async function load(store: ResponseStore | undefined, id: string, cache: Map<string, StoredConversation | undefined>): Promise<StoredConversation | undefined> {
  if (!store || parseResponseId(id) === undefined) return undefined;
  if (!cache.has(id)) cache.set(id, await store.load(id));
  return cache.get(id);
}

async function resolveItem(item: ResponsesInputItem, param: string, store: ResponseStore | undefined, cache: Map<string, StoredConversation | undefined>): Promise<ResolvedInputItem> {
  if (item.type !== 'item_reference') return item;
  const place = parseItemId(item.id);
  const stored = place ? await load(store, place.responseId, cache) : undefined;
  const found = stored?.response.output.find((output) => output.id === item.id);
  if (!found) throw invalidRequest(`Item with id '${item.id}' not found. ${NOT_STORED_HINT}`, `${param}.id`, 'item_not_found');
  return found;
}

/** The continuation of `request`, read from `store` (undefined: no database). */
export async function loadContinuation(request: ResponsesRequest, store: ResponseStore | undefined): Promise<Continuation> {
  const cache = new Map<string, StoredConversation | undefined>();
  let history: ResolvedInputItem[] = [];
  if (request.previous_response_id) {
    const previous = await load(store, request.previous_response_id, cache);
    if (!previous) {
      throw invalidRequest(`Previous response with id '${request.previous_response_id}' not found. ${NOT_STORED_HINT}`, 'previous_response_id', 'previous_response_not_found');
    }
    history = previous.items;
  }
  const raw = typeof request.input === 'string' ? [] : request.input;
  const resolved: ResolvedInputItem[] = [];
  for (const [index, item] of raw.entries()) resolved.push(await resolveItem(item, `input[${index}]`, store, cache));
  return { history, input: inputItems(request, resolved) };
}
