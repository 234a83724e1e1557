/**
 * Bridge processes for the tunnel e2e suite (tests/helpers/run-test-bridge.ts),
 * each its own process group. The Worker comes from tests/helpers/start-gateway.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'node_modules/.bin');

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  try {
    process.kill(-child.pid, signal);
  } catch {
    return; // already gone
  }
  await done;
}

export interface TestBridgeProcess {
  child: ChildProcess;
  /** Resolves when the bridge reports `state` (now or later). */
  waitForState(state: string): Promise<void>;
  logs: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts run-test-bridge.ts against `url`. */
export function startTestBridge(url: string, token: string): TestBridgeProcess {
  const child = spawn(path.join(BIN, 'node'), ['tests/helpers/run-test-bridge.ts', '--url', url, '--token', token], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const states: string[] = [];
  const logs: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const value = JSON.parse(line) as { status?: { state?: string }; log?: string };
      if (value.status?.state) states.push(value.status.state);
      if (value.log) logs.push(value.log);
    } catch {
      logs.push(line);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const done = exited(child);
  return {
    child,
    logs,
    exited: done,
    waitForState(state) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (states.includes(state)) return resolve();
          if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`bridge exited before '${state}'`));
          waiters.push(check);
        };
        void done.then(() => check());
        check();
      });
    },
    async kill(signal) {
      await stopGroup(child, signal);
      return done;
    },
  };
}
