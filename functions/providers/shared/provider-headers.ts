/** The headers every provider call carries; the configured extra headers win. */
export function withConfiguredHeaders(base: Record<string, string>, configured: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(configured)) headers[name.toLowerCase()] = value;
  return headers;
}
