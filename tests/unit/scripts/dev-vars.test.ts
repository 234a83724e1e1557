import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROVIDER_KEY_VARIABLES as WORKER_KEY_VARIABLES } from '../../../functions/config.ts';
import { createDevVars, gatewayKeyHint, PROVIDER_KEY_VARIABLES, readDevVars } from '../../../scripts/dev-vars.ts';

const home = mkdtempSync(join(tmpdir(), 'agent-gateway-dev-vars-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('the gateway key in the npm start banner', () => {
  it('shows the key itself only on the start that just created it', () => {
    expect(gatewayKeyHint('/repo/.dev.vars', true, 'sk-gw-fresh')).toEqual({ bearer: 'sk-gw-fresh', note: undefined });
  });

  it('on later starts shows $GATEWAY_API_KEY and a command that sets it from .dev.vars, never the key', () => {
    const path = join(home, '.dev.vars');
    const created = createDevVars(path);
    const hint = gatewayKeyHint(path, false, readDevVars(path).GATEWAY_API_KEY);
    expect(hint.bearer).toBe('$GATEWAY_API_KEY');
    expect(JSON.stringify(hint)).not.toContain(created.gatewayApiKey);
    expect(hint.note).toContain(path);
    // The printed command, run by a shell, yields the key.
    const command = /export GATEWAY_API_KEY=(".*")$/.exec(hint.note ?? '')?.[1] ?? '""';
    expect(execFileSync('sh', ['-c', `printf %s ${command}`], { encoding: 'utf8' })).toBe(created.gatewayApiKey);
  });

  it('says the key is missing when .dev.vars has none', () => {
    expect(gatewayKeyHint('/repo/.dev.vars', false, undefined)).toMatchObject({ bearer: '<GATEWAY_API_KEY>', note: expect.stringContaining('not set') });
  });
});

describe('the provider key variables', () => {
  it('are the very table the Worker reads', () => {
    expect(PROVIDER_KEY_VARIABLES).toBe(WORKER_KEY_VARIABLES);
  });
});
