/** The Worker's entry: the Hono app wired to the tunnel and the settings, and the Durable Object class wrangler binds. */
import { createApp } from './app.ts';
import { DEFAULT_USER_ID } from './config.ts';
import { loadAgentDefaults } from './settings/index.ts';
import { createTunnelChatModel, listLocalModels } from './tunnel/index.ts';
export { BridgeTunnel } from './tunnel/bridge-tunnel.ts';

const app = createApp({
  createLocalModel: (env, modelId) => createTunnelChatModel(env, DEFAULT_USER_ID, modelId),
  listLocalModels: (env) => listLocalModels(env, DEFAULT_USER_ID),
  loadAgentDefaults: (env) => loadAgentDefaults(env),
});
export default app;
