/**
 * `node bench/upstream/serve.ts`: the bench upstream in its own process, so its
 * work never shares an event loop with the client that measures. Prints
 * `{"ready":{"url":"http://127.0.0.1:PORT"}}` once listening; stops on SIGTERM.
 */
import { startUpstream } from './openai-upstream.ts';

const { server, url } = await startUpstream();
process.stdout.write(`${JSON.stringify({ ready: { url } })}\n`);
const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
