/**
 * How long an upstream asks us to wait: `retry-after-ms` (OpenAI, milliseconds),
 * else `retry-after` as seconds or as an HTTP date.
 */

const NUMBER = /^\d+(\.\d+)?$/;

/** Milliseconds to wait before retrying, or `undefined` when the upstream said nothing usable. */
export function parseRetryAfterMs(headers: Headers, now: number): number | undefined {
  const milliseconds = headers.get('retry-after-ms')?.trim();
  if (milliseconds && NUMBER.test(milliseconds)) return Math.ceil(Number(milliseconds));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (NUMBER.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
