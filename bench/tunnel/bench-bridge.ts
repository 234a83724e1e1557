/**
 * `node bench/tunnel/bench-bridge.ts --url URL --token TOKEN`: a real bridge
 * process (the BridgeClient of bridge/connection) serving the bench handler,
 * with room for the concurrency runs (256 running, 256 queued). Prints
 * `{"ready":{"pid":…}}` once the gateway has welcomed it; SIGTERM drains
 * (1 s) and exits.
 */
import { parseArgs } from 'node:util';
import { BridgeClient } from '../../bridge/connection/bridge-client.ts';
import { createBenchHandler } from './bench-handler.ts';

const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' } } });
if (!values.url || !values.token) {
  process.stderr.write('usage: bench-bridge.ts --url URL --token TOKEN\n');
  process.exit(2);
}

let announced = false;
const client = new BridgeClient({
  url: values.url,
  token: values.token,
  handler: createBenchHandler(),
  maxConcurrent: 256,
  maxQueue: 256,
  bridgeId: `bench-bridge-${process.pid}`,
  onStatus: (status) => {
    if (status.state === 'connected' && !announced) {
      announced = true;
      process.stdout.write(`${JSON.stringify({ ready: { pid: process.pid } })}\n`);
    }
    if (status.state === 'auth_failed' || status.state === 'superseded' || status.state === 'rejected') process.stderr.write(`bridge: ${status.state} ${status.reason ?? ''}\n`);
  },
  log: (line) => process.stderr.write(`bridge: ${line}\n`),
});
client.start();

const stop = (): void => {
  void client.stop({ drainMs: 1_000 }).then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
