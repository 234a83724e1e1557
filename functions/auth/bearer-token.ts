/**
 * Checking a presented secret (the gateway key, the bridge token). Both sides
 * are hashed first, so the comparison takes the same time whatever the
 * content or the lengths, and the loop never exits early.
 */

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

// The configured secret's digest, kept per isolate. Only settled values are
// kept: a promise shared across requests is cancelled with the request that made it.
const expectedDigests = new Map<string, Uint8Array>();

async function expectedDigest(expected: string): Promise<Uint8Array> {
  let digest = expectedDigests.get(expected);
  if (!digest) {
    digest = await sha256(expected);
    if (expectedDigests.size > 16) expectedDigests.clear();
    expectedDigests.set(expected, digest);
  }
  return digest;
}

/** True when `presented` equals `expected`, in time independent of either. */
export async function secretsMatch(presented: string, expected: string): Promise<boolean> {
  const [left, right] = await Promise.all([sha256(presented), expectedDigest(expected)]);
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) difference |= (left[index] ?? 0) ^ (right[index] ?? 0);
  return difference === 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}
