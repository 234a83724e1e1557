/**
 * Response and item ids. An item's id carries its response's key and its
 * output index (`msg_<key>_0`, `fc_<key>_1`), so an `item_reference` names the
 * one stored row that holds it: no second table, no index over items.
 */
import type { RuntimeDeps } from '../../../protocol/runtime-deps.ts';

const KEY = /^[A-Za-z0-9]{8,64}$/;

/** The prefixes of the output item types, as OpenAI spells them. */
export const ITEM_PREFIX = { message: 'msg', function_call: 'fc', reasoning: 'rs' } as const;
export type OutputItemType = keyof typeof ITEM_PREFIX;

/** A fresh response key (the id is `resp_<key>`). */
export function newResponseKey(deps: Pick<RuntimeDeps, 'generateId'>): string {
  return deps.generateId().replace(/[^A-Za-z0-9]/g, '');
}

/** `resp_<key>` */
export function responseId(key: string): string {
  return `resp_${key}`;
}

/** The id of output item `outputIndex` of response `key`. */
export function itemId(type: OutputItemType, key: string, outputIndex: number): string {
  return `${ITEM_PREFIX[type]}_${key}_${outputIndex}`;
}

/** The key of a `resp_<key>` id; undefined for anything else (never sent to the database). */
export function parseResponseId(id: string): string | undefined {
  const key = id.startsWith('resp_') ? id.slice(5) : '';
  return KEY.test(key) ? key : undefined;
}

/** Which response and output index an item id points at; undefined when it is not one of ours. */
export function parseItemId(id: string): { responseId: string; outputIndex: number } | undefined {
  const match = /^(?:msg|fc|rs)_([A-Za-z0-9]{8,64})_(\d{1,5})$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  return { responseId: responseId(match[1]), outputIndex: Number(match[2]) };
}
