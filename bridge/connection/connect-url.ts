/**
 * The bridge is given the gateway's base URL (`http://127.0.0.1:8787`,
 * `https://agents.example.workers.dev`) and derives the WebSocket URL itself.
 */
import { invalidRequest } from '../../protocol/gateway-error.ts';

export const CONNECT_PATH = '/bridge/connect';

/** `http(s)://host/base` → `ws(s)://host/base/bridge/connect`. Refuses credentials in the URL. */
export function bridgeConnectUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw invalidRequest('The gateway URL is not a valid URL', 'url');
  }
  if (url.username || url.password || url.search) {
    // Anything there would end up in access logs; the token goes in a header.
    throw invalidRequest('The gateway URL must not carry credentials or a query string; pass the token separately', 'url');
  }
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const scheme = schemes[url.protocol];
  if (!scheme) throw invalidRequest('The gateway URL must start with http:// or https://', 'url');
  const path = url.pathname.replace(/\/+$/, '');
  return `${scheme}//${url.host}${path}${CONNECT_PATH}`;
}
