/**
 * zod at the boundary: parse untrusted input or throw a 400 GatewayError whose
 * `param` names the first offending field (`messages[0].role`, `temperature`).
 */
import * as z from 'zod';
import { invalidRequest } from './gateway-error.ts';

/** Renders a zod path the way OpenAI does in `param`: `messages[0].content`. */
export function formatParam(path: ReadonlyArray<PropertyKey>): string | null {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? null : out;
}

/** The first issue of a failed parse as `{param, message}`. */
export function describeIssue(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): { param: string | null; message: string } {
  const issue = error.issues[0];
  if (!issue) return { param: formatParam(prefix), message: 'Invalid value' };
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const param = formatParam([...prefix, ...issue.path, key]);
    return { param, message: `Unrecognized request argument supplied: ${param ?? key}` };
  }
  const param = formatParam([...prefix, ...issue.path]);
  return { param, message: param ? `Invalid value for '${param}': ${issue.message}` : issue.message };
}

/** Parses `value` or throws an OpenAI-shaped 400 naming the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: ReadonlyArray<PropertyKey> = []): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { param, message } = describeIssue(result.error, prefix);
  throw invalidRequest(message, param);
}

/** JSON.parse that never throws: `undefined` marks malformed input. */
export function safeParseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
