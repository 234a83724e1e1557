/**
 * `.dev.vars`, the file wrangler reads the Worker's secrets from in local
 * development: created with fresh random keys when missing, and read (dotenv
 * syntax) to tell the user what is configured.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PROVIDER_KEY_VARIABLES } from '../protocol/model-name.ts';

// The Worker's own table, so the file `npm start` writes names what the Worker reads.
export { PROVIDER_KEY_VARIABLES };

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
    '# The token the bridge daemon on your Mac sends (store it there with `npm run bridge -- login`):',
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

/** How `npm start` shows the gateway key in its first-request hint. */
export interface GatewayKeyHint {
  /** What follows `Authorization: Bearer ` in the printed curl command. */
  bearer: string;
  /** A line saying where the key is, when the command does not carry it. */
  note: string | undefined;
}

/**
 * The key itself only right after `npm start` created it (the user must learn
 * it once, and it was just printed with the file); on every later start, the
 * shell variable and where its value lives, so the secret does not land in
 * terminal scrollback and CI logs on every run.
 */
export function gatewayKeyHint(devVarsPath: string, justCreated: boolean, key: string | undefined): GatewayKeyHint {
  if (!key) return { bearer: '<GATEWAY_API_KEY>', note: `GATEWAY_API_KEY is not set in ${devVarsPath}: every /v1 request will fail until it is.` };
  if (justCreated) return { bearer: key, note: undefined };
  return {
    bearer: '$GATEWAY_API_KEY',
    note: `The key is GATEWAY_API_KEY in ${devVarsPath}; put it in your shell first: export GATEWAY_API_KEY="$(sed -n 's/^GATEWAY_API_KEY=//p' '${devVarsPath}')"`,
  };
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
