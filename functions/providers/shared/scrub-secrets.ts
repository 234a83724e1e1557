/**
 * Upstream messages are shown to our caller, and some of them quote the key
 * (OpenAI's 401 prints a masked prefix and suffix of it). Scrub before surfacing.
 */

// Provider key shapes: OpenAI `sk-…`, Anthropic `sk-ant-…`, Groq `gsk_…`, xAI `xai-…`.
const KEY_LIKE = /\b(?:sk-|gsk_|xai-)[A-Za-z0-9_*.-]{4,}/g;
const MAX_MESSAGE = 1_000;

/** `text` with every secret and anything shaped like a provider key replaced, and cut to a sane length. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  }
  out = out.replace(KEY_LIKE, '[redacted]');
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}
