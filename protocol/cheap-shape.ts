/**
 * Shape checks cheap enough for every streamed chunk. A provider's common
 * chunk (one text delta) is checked field by field here and read as it is;
 * anything else (usage, tool calls, errors, unexpected types) goes through the
 * full zod schema, so what is accepted and what is refused stays exactly what
 * the schema says. zod on every chunk cost more than everything else the
 * chunk needs (docs/benchmarks.md).
 */

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What `z.string().nullish()` accepts. */
export function isNullishString(value: unknown): boolean {
  return value == null || typeof value === 'string';
}

/** What `z.number().nullish()` accepts (JSON has no NaN or Infinity). */
export function isNullishNumber(value: unknown): boolean {
  return value == null || typeof value === 'number';
}
