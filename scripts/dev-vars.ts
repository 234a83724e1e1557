/**
 * `.dev.vars`, the file wrangler reads the Worker's secrets from in local
 * development: created with fresh random keys when missing, and read (dotenv
 * syntax) to tell the user what is configured.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Provider name → the variable holding its key (contract.md). */
export const PROVIDER_KEY_VARIABLES = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  xai: 'XAI_API_KEY',
  groq: 'GROQ_API_KEY',
} as const;

export interface CreatedDevVars {
  gatewayApiKey: string;
  bridgeToken: string;
}

/** A fresh secret: `prefix` + 32 random bytes, base64url (43 characters). */
export function generateSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Writes a new `.dev.vars` (mode 0600) with fresh keys; refuses to overwrite one. */
export function createDevVars(path: string): CreatedDevVars {
  const created = { gatewayApiKey: generateSecret('sk-gw-'), bridgeToken: generateSecret('sk-br-') };
  const providerLines = Object.values(PROVIDER_KEY_VARIABLES).map((variable) => `# ${variable}=`);
  const text = [
    `# Secrets for \`wrangler dev\`, created by \`npm start\` on ${new Date().toISOString()}. Never commit this file.`,
    '# The key clients send as `Authorization: Bearer …`:',
    `GATEWAY_API_KEY=${created.gatewayApiKey}`,
    '# The token the bridge daemon on your Mac sends (`npm run bridge -- --token …`):',
    `BRIDGE_TOKEN=${created.bridgeToken}`,
    '# Provider keys: a provider without a key is not offered. Uncomment and fill in:',
    ...providerLines,
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  // 'wx': fail rather than overwrite a file that appeared meanwhile.
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  return created;
}

/** Parses dotenv syntax: `KEY=value`, `export KEY=value`, quotes, `#` comments. */
export function parseDevVars(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, key = '', rest = ''] = match;
    let value = rest;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.lastIndexOf(quote) > 0) {
      value = value.slice(1, value.lastIndexOf(quote));
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    values[key] = value;
  }
  return values;
}

/** The values in `path`, or none when it does not exist. */
export function readDevVars(path: string): Record<string, string> {
  return existsSync(path) ? parseDevVars(readFileSync(path, 'utf8')) : {};
}

/** Dotenv text for `values`, quoted so any value survives. */
export function formatDevVars(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join('\n');
}
