/**
 * Reliability: sqld SIGKILLed while settings writes (PUT and PATCH) and reads
 * run, and brought back on the same port and data. Each write lands fully or
 * fails loudly with an OpenAI-shaped 5xx, no read sees a half-written row, and
 * an acknowledged write survives a crash. Figures: `sqldKills`.
 */
import { describe, expect, it } from 'vitest';
import { breath, reliabilitySuite, until } from './reliability-stack.ts';
import { markerOf, settingsWrite } from './reliability-settings.ts';
import { openAIErrorOf } from './stack-answers.ts';

const SQLD_KILLS = 4;
const SETTINGS_WRITERS = 4;

const suite = reliabilitySuite('sqld-kills');
const { figures } = suite;

describe('sqld killed during settings writes', () => {
  it('lets each write land fully or fail loudly with an OpenAI-shaped 5xx, never half-written, and keeps acknowledged writes', async () => {
    const database = suite.stack.database;
    if (!database) throw new Error('the suite needs the database');
    const result = { kills: 0, landed: 0, failedLoudly: 0, unclean: 0, halfWritten: 0, acknowledgedLost: 0 };
    const issued = new Set<string>();
    const unclean: string[] = [];
    let written = 0;
    let stopWriting = false;

    const write = async (writer: number): Promise<void> => {
      while (!stopWriting) {
        const index = written++;
        const { marker, body } = settingsWrite(`w${writer}-${index}`, index);
        issued.add(marker);
        // PUT and PATCH (every field) alternate: both must be all-or-nothing.
        const method = index % 2 === 0 ? 'PUT' : 'PATCH';
        const response = await suite.stack.api('/v1/settings', { method, body: JSON.stringify(body) }).catch((error: unknown) => error);
        if (!(response instanceof Response)) {
          result.unclean += 1;
          unclean.push(`${method}: ${String(response)}`);
          await breath();
          continue;
        }
        const answer = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
        if (response.status === 200 && answer && markerOf(answer) === marker) result.landed += 1;
        else if (response.status >= 500 && openAIErrorOf(answer)) {
          result.failedLoudly += 1;
          await breath();
        } else {
          result.unclean += 1;
          unclean.push(`${method} ${response.status}: ${JSON.stringify(answer).slice(0, 200)}`);
        }
      }
    };
    const read = async (): Promise<void> => {
      while (!stopWriting) {
        const response = await suite.stack.api('/v1/settings').catch(() => undefined);
        if (response?.status !== 200) {
          await response?.body?.cancel();
          await breath();
          continue;
        }
        const settings = (await response.json()) as Record<string, unknown>;
        const marker = markerOf(settings);
        if (marker === undefined || (marker !== 'defaults' && !issued.has(marker))) result.halfWritten += 1;
      }
    };
    const killer = async (): Promise<void> => {
      for (let kill = 0; kill < SQLD_KILLS; kill++) {
        // Kill while writes are running: wait for some to land first.
        const landed = result.landed;
        await until(() => result.landed >= landed + 10, 'writes to land');
        await database.kill();
        result.kills += 1;
        const failed = result.failedLoudly;
        await until(() => result.failedLoudly >= failed + SETTINGS_WRITERS, 'writes to fail while sqld is down');
        await database.start();
      }
      const landed = result.landed;
      await until(() => result.landed >= landed + 10, 'writes to land after the last restart');
      stopWriting = true;
    };
    await suite.stack.api('/v1/settings', { method: 'DELETE' });
    await Promise.all([killer(), read(), ...Array.from({ length: SETTINGS_WRITERS }, (_, writer) => write(writer))]);

    // An acknowledged write survives a crash: write, get the 200, SIGKILL sqld, start it, read.
    const last = settingsWrite('final', 0);
    const acknowledged = await suite.stack.api('/v1/settings', { method: 'PUT', body: JSON.stringify(last.body) });
    expect(acknowledged.status).toBe(200);
    await database.kill();
    result.kills += 1;
    await database.start();
    const after = (await (await suite.stack.api('/v1/settings')).json()) as Record<string, unknown>;
    const afterMarker = markerOf(after);
    if (afterMarker === undefined) result.halfWritten += 1;
    if (afterMarker !== 'final') result.acknowledgedLost += 1;

    figures.sqldKills = result;
    expect(unclean.slice(0, 3)).toEqual([]);
    expect(result.kills).toBe(SQLD_KILLS + 1);
    expect(result.failedLoudly).toBeGreaterThanOrEqual(SQLD_KILLS * SETTINGS_WRITERS);
    expect(result).toMatchObject({ unclean: 0, halfWritten: 0, acknowledgedLost: 0 });
  });
});
