/**
 * Bridge processes for the tunnel e2e suite (tests/helpers/run-test-bridge.ts),
 * each its own process group (scripts/process-group.ts). The Worker comes from
 * tests/helpers/start-gateway.ts.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnGroup } from '../../scripts/process-group.ts';
import { safeParseJson } from '../../protocol/validate.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'node_modules/.bin');

export interface TestBridgeProcess {
  child: ChildProcess;
  /** Resolves when the bridge reports `state` (now or later). */
  waitForState(state: string): Promise<void>;
  logs: string[];
  exited: Promise<number | null>;
  /** Signals the bridge's whole group and resolves with its exit code once every member is gone. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts run-test-bridge.ts against `url`. */
export function startTestBridge(url: string, token: string): TestBridgeProcess {
  const states: string[] = [];
  const logs: string[] = [];
  const waiters: Array<() => void> = [];
  const bridge = spawnGroup(path.join(BIN, 'node'), ['tests/helpers/run-test-bridge.ts', '--url', url, '--token', token], {
    name: 'the test bridge',
    cwd: ROOT,
    stderr: 'inherit',
    keepOutputChars: 0,
    onStdoutLine: (line) => {
      const parsed = safeParseJson(line);
      const value = (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null ? parsed.value : {}) as { status?: { state?: string }; log?: string };
      if (value.status?.state) states.push(value.status.state);
      if (value.log) logs.push(value.log);
      if (!parsed.ok) logs.push(line);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const child = bridge.child;
  const exited = bridge.exited.then(() => child.exitCode);
  return {
    child,
    logs,
    exited,
    waitForState(state) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (states.includes(state)) return resolve();
          if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`bridge exited before '${state}'`));
          waiters.push(check);
        };
        void exited.then(() => check());
        check();
      });
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) await bridge.stop(signal);
      return exited;
    },
  };
}
