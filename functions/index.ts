/** The Worker's entry: the Hono app wired to the tunnel and the settings, and the Durable Object class wrangler binds. */
import { createApp } from './app.ts';
import { DEFAULT_USER_ID } from './config.ts';
import { loadAgentDefaults } from './settings/index.ts';
import { createTunnelChatModel, listLocalModels } from './tunnel/index.ts';
export { BridgeTunnel } from './tunnel/bridge-tunnel.ts';

const LOCAL_PREFIX = 'local/';

const app = createApp({
  createLocalModel: (env, modelId) => createTunnelChatModel(env, DEFAULT_USER_ID, modelId),
  listLocalModels: async (env) =>
    (await listLocalModels(env, DEFAULT_USER_ID)).map((model) => ({ ...model, id: model.id.slice(LOCAL_PREFIX.length) })),
  loadAgentDefaults: (env) => loadAgentDefaults(env),
});
export default app;
