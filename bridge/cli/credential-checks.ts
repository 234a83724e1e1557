/**
 * What is wrong with a bridge token or a gateway URL, if anything: the same
 * rules for `doctor`, which reports them, and `login`, which refuses to store
 * a bad token.
 */

export interface CredentialProblem {
  /** What was found, never the value itself: "contains whitespace". */
  detail: string;
  fix: string;
}

/** A token that cannot be the gateway's BRIDGE_TOKEN; undefined when it looks right. */
export function describeTokenProblem(token: string): CredentialProblem | undefined {
  if (/\s/.test(token)) return { detail: 'contains whitespace', fix: 'copy the token again without spaces or line breaks' };
  if (token.length < 16) {
    return { detail: `too short (${token.length} characters)`, fix: "use the gateway's BRIDGE_TOKEN; generate a long random one with `openssl rand -hex 32`" };
  }
  return undefined;
}

/** A gateway URL the bridge cannot dial; undefined when it is an http(s) URL. */
export function describeUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${url} is not http(s)`;
  return undefined;
}
