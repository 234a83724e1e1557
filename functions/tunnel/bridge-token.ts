/** The bridge token must never travel in a URL. */

const TOKEN_LIKE_PARAM = /token|key|auth|secret|password|bearer/i;

/** True when the URL's query looks like it carries a credential (those leak into logs). */
export function queryCarriesCredential(url: URL): boolean {
  for (const name of url.searchParams.keys()) if (TOKEN_LIKE_PARAM.test(name)) return true;
  return false;
}
