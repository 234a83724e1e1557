/**
 * Reliability: bursts of settings traffic. 500 concurrent settings requests
 * (GET, PUT, PATCH, DELETE mixed) and then 500 concurrent completions that read
 * the settings (no `model` in the body), against the Worker as `npm start`
 * serves it. Every request is answered within the bound with either its
 * success shape or an OpenAI-shaped error, and the next request after each
 * burst answers normally: a burst never wedges the settings (the outside team
 * saw 97/100 GETs answer 500 and every later settings request hang until a
 * restart). Figures: `settingsBurst`.
 */
import { describe, expect, it } from 'vitest';
import { reliabilitySuite, SETTLE_BOUND_MS } from './reliability-stack.ts';
import { within } from './reliability-report.ts';
import { settingsWrite } from './reliability-settings.ts';
import { openAIErrorOf } from './stack-answers.ts';
import { SETTINGS_DATABASE_TIMEOUT_MS } from '../../functions/settings/settings-for-env.ts';

const BURST = 500;
const ABANDONED = 100;

const suite = reliabilitySuite('settings-burst');

interface Tally {
  requests: number;
  /** Answered with the request's own success shape. */
  answered: number;
  /** The other answers, by status and error code (for the failure message). */
  others: Record<string, number>;
  hung: number;
  malformed: string[];
}

type Check = (status: number, body: unknown) => boolean;

const isSettings: Check = (status, body) =>
  status === 200 && typeof body === 'object' && body !== null && 'preferred_transport' in body && 'updated_at' in body;
const isCompletion: Check = (status, body) =>
  status === 200 && typeof body === 'object' && body !== null && (body as { object?: unknown }).object === 'chat.completion';

/** The body as JSON, or its text when it is not JSON (the runtime's own plain-text 500). */
async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Sends every request at once; counts the ones not answered within the bound and the ones whose body has neither shape. */
async function burst(requests: Array<() => Promise<Response>>, ok: Check, tally: Tally): Promise<void> {
  await Promise.all(
    requests.map(async (send) => {
      tally.requests += 1;
      const outcome = await within(
        send().then(async (response) => ({ status: response.status, body: await bodyOf(response) })),
        SETTLE_BOUND_MS * 2,
      );
      if (!outcome.settled) {
        tally.hung += 1;
        return;
      }
      if ('error' in outcome) {
        tally.malformed.push(`no answer: ${String(outcome.error)}`);
        return;
      }
      const { status, body } = outcome.value;
      if (ok(status, body)) {
        tally.answered += 1;
        return;
      }
      const error = openAIErrorOf(body);
      if (status >= 400 && error) {
        const key = `${status} ${error.code ?? error.type}: ${error.message.slice(0, 60)}`;
        tally.others[key] = (tally.others[key] ?? 0) + 1;
        return;
      }
      tally.malformed.push(`${status}: ${JSON.stringify(body).slice(0, 160)}`);
    }),
  );
}

describe('settings bursts', () => {
  it('answers 500 concurrent mixed settings requests and 500 concurrent completions that read them, none hung, and the next request normally', async () => {
    const { stack } = suite;
    const settingsTally: Tally = { requests: 0, answered: 0, others: {}, hung: 0, malformed: [] };
    const completionsTally: Tally = { requests: 0, answered: 0, others: {}, hung: 0, malformed: [] };

    // Requests their clients abandon a few milliseconds in: whatever the Worker was doing for them must not poison the burst after.
    await Promise.all(
      Array.from({ length: ABANDONED }, (_unused, index) =>
        stack
          .api('/v1/settings', { method: index % 2 === 0 ? 'GET' : 'PATCH', body: index % 2 === 0 ? undefined : JSON.stringify({ rag_archives: ['abandoned'] }), signal: AbortSignal.timeout(1 + (index % 10)) })
          .then((response) => response.text())
          .catch(() => undefined),
      ),
    );

    const settingsRequests = Array.from({ length: BURST }, (_unused, index) => () => {
      const { body } = settingsWrite(`burst-${index}`, index);
      switch (index % 4) {
        case 0:
          return stack.api('/v1/settings');
        case 1:
          return stack.api('/v1/settings', { method: 'PUT', body: JSON.stringify(body) });
        case 2:
          return stack.api('/v1/settings', { method: 'PATCH', body: JSON.stringify({ rag_archives: [`archive-${index}`] }) });
        default:
          return index % 8 === 3 ? stack.api('/v1/settings', { method: 'DELETE' }) : stack.api('/v1/settings');
      }
    });
    await burst(settingsRequests, isSettings, settingsTally);

    const afterSettings = await stack.api('/v1/settings');
    const afterSettingsBody = await bodyOf(afterSettings);
    const healthyAfterSettings = isSettings(afterSettings.status, afterSettingsBody);

    // The completions take their model from the settings.
    const chosen = await stack.api('/v1/settings', {
      method: 'PUT',
      body: JSON.stringify({ preferred_transport: 'online', default_online_model: 'openai/gpt-4o-mini', default_local_model: null, backup_models: [], rag_archives: [] }),
    });
    const chosenBody = await bodyOf(chosen);
    const completions = Array.from({ length: BURST }, (_unused, index) => () =>
      stack.api('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: `burst ${index}` }] }) }),
    );
    await burst(completions, isCompletion, completionsTally);

    const next = await stack.api('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'after the burst' }] }) });
    const nextBody = await bodyOf(next);
    const nextSettings = await stack.api('/v1/settings');
    const healthy = isCompletion(next.status, nextBody) && (nextBody as { model?: unknown }).model === 'openai/gpt-4o-mini' && isSettings(nextSettings.status, await bodyOf(nextSettings));

    suite.figures.settingsBurst = {
      requests: settingsTally.requests + completionsTally.requests,
      answered: settingsTally.answered + completionsTally.answered,
      hung: settingsTally.hung + completionsTally.hung,
      malformed: settingsTally.malformed.length + completionsTally.malformed.length,
      healthyAfter: healthy && healthyAfterSettings ? 1 : 0,
    };
    expect([...settingsTally.malformed, ...completionsTally.malformed].slice(0, 5)).toEqual([]);
    expect([settingsTally.hung, completionsTally.hung]).toEqual([0, 0]);
    // Not merely "an OpenAI-shaped error": the burst is served. On a quiet machine every request is
    // (500/500, 500/500); on one loaded many times over, some writes may queue on sqld past the
    // database deadline, which answers 503 database_unavailable, or for a completion without a model,
    // the env defaults' 400. The wedge this pins answered 3 in 100 (and those as text/plain 500s).
    const why = JSON.stringify([settingsTally.others, completionsTally.others]);
    expect(settingsTally.answered, why).toBeGreaterThanOrEqual(BURST * 0.8);
    expect(completionsTally.answered, why).toBeGreaterThanOrEqual(BURST * 0.8);
    expect(Object.keys(settingsTally.others).filter((key) => !key.startsWith('503 database_unavailable')), why).toEqual([]);
    expect(afterSettingsBody).toMatchObject({ preferred_transport: expect.any(String) });
    expect(chosenBody).toMatchObject({ default_online_model: 'openai/gpt-4o-mini' });
    expect(healthy, JSON.stringify(nextBody)).toBe(true);
  });

  it('answers settings 503 database_unavailable within the deadline while sqld is frozen, keeps serving completions, and recovers when it thaws', async () => {
    const { stack } = suite;
    const database = stack.database;
    if (!database) throw new Error('the suite needs the database');
    await database.pause();
    try {
      const started = Date.now();
      const [settings, completion] = await Promise.all([
        stack.api('/v1/settings'),
        stack.api('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'while frozen' }] }) }),
      ]);
      const settingsBody = await bodyOf(settings);
      expect(settings.status, JSON.stringify(settingsBody)).toBe(503);
      expect(openAIErrorOf(settingsBody)?.code).toBe('database_unavailable');
      // The route's deadline (a little more on a loaded machine); it must not wait for the host to thaw.
      expect(Date.now() - started).toBeLessThan(SETTINGS_DATABASE_TIMEOUT_MS + 3_000);
      expect(isCompletion(completion.status, await bodyOf(completion))).toBe(true);
    } finally {
      database.resume();
    }
    const thawed = await stack.api('/v1/settings');
    expect(isSettings(thawed.status, await bodyOf(thawed))).toBe(true);
  });
});
