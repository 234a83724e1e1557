/**
 * scripts/process-group.ts against real (tiny) `node -e` children: each runs
 * in its own process group, stop() leaves nothing of that group behind
 * (grandchildren and a leader that ignores SIGTERM included), and waitForHttp
 * fails at once, with what the server printed, when the server dies first.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers, spawnGroup, waitForHttp, type GroupProcess } from '../../../scripts/process-group.ts';
import { listProcesses } from '../../../scripts/process-tree.ts';

/** A leader that starts one long-lived grandchild, then prints `ready <grandchild pid>` and idles. */
function leader(options: { ignoreSigterm?: boolean } = {}): string {
  return [
    "const { spawn } = require('node:child_process');",
    "const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
    options.ignoreSigterm ? "process.on('SIGTERM', () => {});" : '',
    "console.log('ready ' + grandchild.pid);",
    'setInterval(() => {}, 1000);',
  ].join('\n');
}

const started: GroupProcess[] = [];

function start(script: string, graceMs?: number): GroupProcess {
  const group = spawnGroup(process.execPath, ['-e', script], { name: 'test child', graceMs });
  started.push(group);
  return group;
}

async function grandchildOf(group: GroupProcess): Promise<number> {
  await group.waitForOutput(/ready \d+\n/, 10_000);
  return Number(/ready (\d+)/.exec(group.output())?.[1]);
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((group) => group.stop('SIGKILL')));
});

describe('process groups', () => {
  it('starts a child as the leader of its own group, which its own children join', async () => {
    const group = start(leader());
    const grandchild = await grandchildOf(group);
    const leaderPid = group.child.pid ?? -1;
    const table = listProcesses();
    const ownGroup = table.find((entry) => entry.pid === process.pid)?.pgid;

    expect(table.find((entry) => entry.pid === leaderPid)?.pgid).toBe(leaderPid);
    expect(ownGroup).not.toBe(leaderPid);
    expect(groupMembers(leaderPid).sort()).toEqual([leaderPid, grandchild].sort());
  });

  it('stop() leaves no member of the group alive, grandchildren included', async () => {
    const group = start(leader());
    const grandchild = await grandchildOf(group);
    const leaderPid = group.child.pid ?? -1;

    await group.stop();

    expect(await group.exited).toBe('SIGTERM');
    expect(groupMembers(leaderPid)).toEqual([]);
    expect(listProcesses().some((entry) => entry.pid === grandchild)).toBe(false);
  });

  it('stop() kills a leader that ignores SIGTERM once the grace is over', async () => {
    const group = start(leader({ ignoreSigterm: true }), 300);
    await grandchildOf(group);
    const leaderPid = group.child.pid ?? -1;

    await group.stop();

    expect(await group.exited).toBe('SIGKILL');
    expect(groupMembers(leaderPid)).toEqual([]);
  });

  it('waitForHttp rejects with what the server printed when it exits before answering', async () => {
    const port = await closedPort();
    const group = start(`process.stdout.write('cannot bind: address in use\\n', () => process.exit(3));`);

    const waiting = waitForHttp(`http://127.0.0.1:${port}/health`, {
      name: 'test server',
      timeoutMs: 30_000,
      exited: group.exited,
      output: group.output,
      intervalMs: 20,
    });

    await expect(waiting).rejects.toThrow(/test server exited before it answered .*\n.*cannot bind: address in use/s);
    expect(await group.exited).toBe(3);
  });
});
