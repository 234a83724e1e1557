/**
 * Reads the error body of any of our providers leniently: OpenAI/Groq
 * `{error: {message, type, param, code}}`, Anthropic `{type: "error", error:
 * {type, message}}`, xAI `{code, error: "<string>"}`, or plain text.
 */
import * as z from 'zod';
import { safeParseJson } from '../../../protocol/validate.ts';

export interface UpstreamErrorDetails {
  message?: string | undefined;
  /** OpenAI `error.type` / Anthropic `error.type`. */
  type?: string | undefined;
  param?: string | undefined;
  /** OpenAI `error.code` / xAI top-level `code`. */
  code?: string | undefined;
}

const scalar = z.union([z.string(), z.number()]).nullish();

const errorBodySchema = z.object({
  error: z
    .union([
      z.string(),
      z.object({ message: z.string().nullish(), type: z.string().nullish(), param: z.string().nullish(), code: scalar }),
    ])
    .nullish(),
  message: z.string().nullish(),
  code: scalar,
  type: z.string().nullish(),
});

function text(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  return String(value);
}

/** What an upstream error body says, as far as it says anything. */
export function parseUpstreamErrorBody(bodyText: string): UpstreamErrorDetails {
  const json = safeParseJson(bodyText);
  const parsed = json.ok ? errorBodySchema.safeParse(json.value) : undefined;
  if (!parsed?.success) {
    const plain = bodyText.trim();
    // An HTML error page from a proxy says nothing useful to the caller.
    const message = plain === '' || plain.startsWith('<') ? undefined : plain.slice(0, 500);
    return { message, type: undefined, param: undefined, code: undefined };
  }
  const body = parsed.data;
  if (typeof body.error === 'string') {
    return { message: body.error, type: undefined, param: undefined, code: text(body.code) };
  }
  const error = body.error ?? undefined;
  return {
    message: text(error?.message) ?? text(body.message),
    // Anthropic's top-level `type` is just "error"; the useful one is inside.
    type: text(error?.type) ?? (body.type === 'error' ? undefined : text(body.type)),
    param: text(error?.param),
    code: text(error?.code) ?? text(body.code),
  };
}
