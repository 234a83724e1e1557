import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../protocol/gateway-error.ts';
import { parseSettingsPatch, parseSettingsReplacement, toUserSettings } from '../../../db/settings-dto.ts';
import { badValues } from './bad-settings.ts';
import type { UserSettingsRow } from '../../../db/schema.ts';

const valid = {
  preferred_transport: 'local',
  default_online_model: 'anthropic/claude-sonnet-4-5',
  default_local_model: 'local/mlx-community/Llama-3.2-3B-Instruct-4bit',
  backup_models: ['groq/llama-3.3-70b-versatile', 'openai/gpt-4o-mini'],
  rag_archives: ['notes-2026', '~/Documents/papers.zip'],
};

function rejection(parse: () => unknown): GatewayError {
  try {
    parse();
  } catch (error) {
    if (GatewayError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a 400, the body was accepted');
}


describe('PUT body', () => {
  it('accepts a full body and drops updated_at, which the server sets', () => {
    expect(parseSettingsReplacement({ ...valid, updated_at: '2020-01-01T00:00:00.000Z' })).toEqual(valid);
  });

  it('accepts null for both default models (no default chosen)', () => {
    const body = { ...valid, default_online_model: null, default_local_model: null };
    expect(parseSettingsReplacement(body)).toEqual(body);
  });

  it.each(Object.keys(valid))('names %s when it is missing', (field) => {
    const body: Record<string, unknown> = { ...valid };
    delete body[field];
    const error = rejection(() => parseSettingsReplacement(body));
    expect(error.status).toBe(400);
    expect(error.param).toBe(field);
    expect(error.message).toContain('Missing required field');
  });

  it.each(badValues)('refuses %s = %j with a 400 naming %s', (field, value, param) => {
    const error = rejection(() => parseSettingsReplacement({ ...valid, [field]: value }));
    expect(error.status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe(param);
  });

  it('names an unknown field', () => {
    const error = rejection(() => parseSettingsReplacement({ ...valid, theme: 'dark' }));
    expect(error.param).toBe('theme');
    expect(error.message).toContain('theme');
  });

  it.each([[[]], ['settings'], [null], [3]])('refuses a body that is not an object (%j)', (body) => {
    const error = rejection(() => parseSettingsReplacement(body));
    expect(error.status).toBe(400);
    expect(error.param).toBeNull();
  });
});

describe('PATCH body', () => {
  it('keeps exactly the fields that were sent', () => {
    expect(parseSettingsPatch({ backup_models: [] })).toEqual({ backup_models: [] });
    expect(parseSettingsPatch({ default_online_model: null, preferred_transport: 'online' })).toEqual({
      default_online_model: null,
      preferred_transport: 'online',
    });
  });

  it.each(badValues)('refuses %s = %j with a 400 naming %s', (field, value, param) => {
    const error = rejection(() => parseSettingsPatch({ [field]: value }));
    expect(error.param).toBe(param);
  });

  it('refuses an empty patch, and one carrying only updated_at', () => {
    expect(rejection(() => parseSettingsPatch({})).status).toBe(400);
    expect(rejection(() => parseSettingsPatch({ updated_at: '2026-01-01T00:00:00.000Z' })).status).toBe(400);
  });

  it('names an unknown field even next to valid ones', () => {
    expect(rejection(() => parseSettingsPatch({ preferred_transport: 'local', colour: 'blue' })).param).toBe('colour');
  });
});

describe('settings as read', () => {
  it('fills in the defaults when the user never saved anything', () => {
    expect(toUserSettings(undefined, 'local')).toEqual({
      preferred_transport: 'local',
      default_online_model: null,
      default_local_model: null,
      backup_models: [],
      rag_archives: [],
      updated_at: null,
    });
  });

  it('follows the env default transport while the stored one is unset', () => {
    const row: UserSettingsRow = {
      userId: 'u',
      preferredTransport: null,
      defaultOnlineModel: 'openai/gpt-4o',
      defaultLocalModel: null,
      backupModels: ['groq/x'],
      ragArchives: [],
      createdAt: '2026-11-24T04:30:00.000Z',
      updatedAt: '2026-11-24T04:31:00.000Z',
    };
    expect(toUserSettings(row, 'online')).toMatchObject({ preferred_transport: 'online', default_online_model: 'openai/gpt-4o', updated_at: row.updatedAt });
    expect(toUserSettings({ ...row, preferredTransport: 'local' }, 'online').preferred_transport).toBe('local');
  });
});
