/**
 * The secrets of an end-to-end stack: sentinel values (`sk-SENTINEL-<uuid>`) in
 * every key and token, so a leak check can look for each of them in any body,
 * header or log line.
 */

/** Every key and token the Worker and the bridge hold. */
export interface StackSecrets {
  GATEWAY_API_KEY: string;
  BRIDGE_TOKEN: string;
  OPENAI_API_KEY: string;
  ANTHROPIC_API_KEY: string;
  XAI_API_KEY: string;
  GROQ_API_KEY: string;
  TURSO_AUTH_TOKEN: string;
}

/** `sk-SENTINEL-<uuid>`: unique, key-shaped, easy to find in any text. */
export function sentinel(): string {
  return `sk-SENTINEL-${crypto.randomUUID()}`;
}

export function sentinelSecrets(): StackSecrets {
  return {
    GATEWAY_API_KEY: sentinel(),
    BRIDGE_TOKEN: sentinel(),
    OPENAI_API_KEY: sentinel(),
    ANTHROPIC_API_KEY: sentinel(),
    XAI_API_KEY: sentinel(),
    GROQ_API_KEY: sentinel(),
    TURSO_AUTH_TOKEN: sentinel(),
  };
}

/** Which of `secrets` occur in `text` (whole, or the UUID part alone). */
export function findSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => text.includes(secret) || text.includes(secret.replace(/^sk-SENTINEL-/, '')));
}
