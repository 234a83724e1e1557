/** Placeholder: the tunnel issue replaces this with the real Durable Object. */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../config.ts';

export class BridgeTunnel extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    return new Response('not implemented', { status: 501 });
  }
}
