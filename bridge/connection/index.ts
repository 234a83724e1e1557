/** The bridge's tunnel connection: what the CLI uses. */
export { BridgeClient, type BridgeClientOptions, type BridgeClientState, type BridgeClientStatus } from './bridge-client.ts';
export { bridgeConnectUrl } from './connect-url.ts';
