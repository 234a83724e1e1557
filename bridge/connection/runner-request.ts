/**
 * Turns the chat body of a `req` frame into the ChatRequest this bridge's
 * runners understand. The frame layer checks the body only loosely (see
 * `requestBodySchema`), so a gateway newer than the bridge can send fields the
 * bridge has never heard of: those are dropped, as OpenAI-compatible servers
 * ignore unknown fields, and the request is served with what the bridge knows.
 * A body that still does not fit (a known field in a shape this bridge cannot
 * read) is a `bad_request` naming the field, answered at once.
 */
import { chatRequestSchema, type ChatRequest } from '../../protocol/chat-request.ts';
import type { GatewayError } from '../../protocol/gateway-error.ts';
import { tunnelError } from '../../protocol/tunnel-errors.ts';
import type { RequestBody } from '../../protocol/tunnel-frames.ts';

export type RunnerRequestResult =
  | { ok: true; request: ChatRequest; /** Dotted paths of the fields this bridge dropped. */ ignored: string[] }
  | { ok: false; error: GatewayError };

/** Rounds of dropping: a dropped key can only reveal more unknown keys below a union, so this is plenty. */
const MAX_ROUNDS = 4;

interface IssueLike {
  code: string;
  path: PropertyKey[];
  keys?: string[];
  errors?: IssueLike[][];
  message: string;
}

/** Reads a `req` body with this bridge's chat schema, dropping fields it does not know. */
export function readRunnerRequest(body: RequestBody): RunnerRequestResult {
  let candidate: unknown = structuredClone(body);
  const ignored: string[] = [];
  for (let round = 0; round <= MAX_ROUNDS; round += 1) {
    const parsed = chatRequestSchema.safeParse(candidate);
    if (parsed.success) return { ok: true, request: parsed.data, ignored };
    const unknown = unknownKeys(parsed.error.issues as IssueLike[], []);
    if (unknown.length === 0 || round === MAX_ROUNDS) return { ok: false, error: unreadable(parsed.error.issues as IssueLike[]) };
    for (const { path, key } of unknown) {
      if (deleteAt(candidate, path, key)) ignored.push([...path, key].map(String).join('.'));
    }
  }
  return { ok: false, error: tunnelError('bad_request', 'This bridge cannot read the request') };
}

/** Every `unrecognized_keys` issue, also those inside the branches of a union. */
function unknownKeys(issues: IssueLike[], prefix: PropertyKey[]): Array<{ path: PropertyKey[]; key: string }> {
  const found: Array<{ path: PropertyKey[]; key: string }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys ?? []) found.push({ path, key });
    for (const branch of issue.errors ?? []) found.push(...unknownKeys(branch, path));
  }
  return found;
}

function deleteAt(root: unknown, path: PropertyKey[], key: string): boolean {
  let node = root;
  for (const step of path) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<PropertyKey, unknown>)[step];
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) return false;
  delete (node as Record<string, unknown>)[key];
  return true;
}

/** A 400 naming the first field this bridge cannot read (its path only: never the value). */
function unreadable(issues: IssueLike[]): GatewayError {
  const first = issues.find((issue) => issue.code !== 'unrecognized_keys') ?? issues[0];
  const field = first && first.path.length > 0 ? first.path.map(String).join('.') : undefined;
  const where = field ? ` at ${field}` : '';
  return tunnelError('bad_request', `This bridge cannot read the request${where}; it may be older than the gateway (update the bridge)`, { param: field });
}
