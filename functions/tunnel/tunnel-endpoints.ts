/**
 * How the Worker talks to its BridgeTunnel: plain `fetch` on the stub, to these
 * internal URLs (never reachable from outside; only the binding routes here).
 * Fetch rather than RPC because cancelling a fetched body is documented to reach
 * the object, which is how a client's disconnect becomes a `cancel` frame.
 */
import * as z from 'zod';
import { upstreamChatRequestSchema } from '../../protocol/chat-request.ts';
import type { Env } from '../config.ts';

const ORIGIN = 'https://bridge-tunnel.internal';

export const TUNNEL_URLS = {
  connect: `${ORIGIN}/connect`,
  chat: `${ORIGIN}/chat`,
  status: `${ORIGIN}/status`,
} as const;

export const tunnelChatBodySchema = z.object({
  /** As the agent made it: `model` is the id after `local/`, our routing fields are gone. */
  request: upstreamChatRequestSchema,
  /** How long the bridge may work on it; the object picks a default when absent. */
  deadlineMs: z.number().int().min(1).optional(),
});
export type TunnelChatBody = z.infer<typeof tunnelChatBodySchema>;

/** The user's tunnel object (one per user). */
export function tunnelStub(env: Env, userId: string): DurableObjectStub {
  return env.BRIDGE_TUNNEL.getByName(userId);
}
