/**
 * A real bridge process driven by the deterministic test handler, for e2e
 * suites: `node tests/helpers/run-test-bridge.ts --url URL --token TOKEN`.
 * Prints one JSON line per status change (`{"status":{…}}`) and per log line
 * (`{"log":"…"}`) on stdout; SIGTERM drains (2 s) and exits 0.
 */
import { parseArgs } from 'node:util';
import { BridgeClient } from '../../bridge/connection/bridge-client.ts';
import { createTestHandler } from './test-runner.ts';

const { values } = parseArgs({
  options: { url: { type: 'string' }, token: { type: 'string' }, 'max-concurrent': { type: 'string' } },
});
if (!values.url || !values.token) {
  process.stderr.write('usage: run-test-bridge.ts --url URL --token TOKEN\n');
  process.exit(2);
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const client = new BridgeClient({
  url: values.url,
  token: values.token,
  handler: createTestHandler(),
  maxConcurrent: Number(values['max-concurrent'] ?? 4),
  bridgeId: `test-bridge-${process.pid}`,
  onStatus: (status) => print({ status }),
  log: (line) => print({ log: line }),
});
client.start();

process.once('SIGTERM', () => {
  void client.stop({ drainMs: 2_000 }).then(() => process.exit(0));
});
