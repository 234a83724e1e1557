/** npm install without the bridge's Python environment: a warning on a laptop, a failure under CI. */
import { describe, expect, it } from 'vitest';
import { missingPythonFailsInstall } from '../../../scripts/postinstall-policy.ts';

describe('postinstall policy', () => {
  it('lets npm install succeed on a developer machine, where CI is unset, empty, false or 0', () => {
    expect([undefined, '', 'false', 'FALSE', '0', ' 0 '].map(missingPythonFailsInstall)).toEqual([false, false, false, false, false, false]);
  });

  it('fails npm install under CI, whatever truthy value the CI service sets', () => {
    expect(['true', '1', 'yes', 'github-actions'].map(missingPythonFailsInstall)).toEqual([true, true, true, true]);
  });
});
