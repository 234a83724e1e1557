/**
 * The tunnel's public face for the rest of the Worker. The Durable Object class
 * itself is exported from functions/index.ts (it needs `cloudflare:workers`,
 * which this module deliberately does not pull in).
 */
export { createTunnelChatModel, getBridgeStatus, listLocalModels, type BridgeStatus } from './tunnel-model.ts';
