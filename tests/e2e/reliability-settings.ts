/**
 * Settings writes whose every field carries one marker, so that a read which
 * mixes two writes (a half-written row) shows: for the sqld-kill and secrets
 * scenarios of the reliability suite.
 */

export interface SettingsWrite {
  marker: string;
  body: Record<string, unknown>;
}

/** A full settings body whose every field carries `marker`, so a mix of two writes shows. */
export function settingsWrite(marker: string, index: number): SettingsWrite {
  return {
    marker,
    body: {
      preferred_transport: 'online',
      default_online_model: `openai/${marker}`,
      default_local_model: `local/${marker}`,
      backup_models: [`groq/${marker}`, `anthropic/${marker}`],
      rag_archives: [`archive-${marker}`, `${index}`],
    },
  };
}

/** The marker every field agrees on, `'defaults'` for an empty row, or undefined for a mix. */
export function markerOf(settings: Record<string, unknown>): string | undefined {
  if (settings['default_online_model'] === null && settings['updated_at'] === null) return 'defaults';
  const seen = new Set<string>();
  const online = String(settings['default_online_model'] ?? '');
  const local = String(settings['default_local_model'] ?? '');
  const backups = Array.isArray(settings['backup_models']) ? settings['backup_models'].map(String) : [];
  const archives = Array.isArray(settings['rag_archives']) ? settings['rag_archives'].map(String) : [];
  seen.add(online.replace(/^openai\//, ''));
  seen.add(local.replace(/^local\//, ''));
  for (const backup of backups) seen.add(backup.replace(/^(groq|anthropic)\//, ''));
  seen.add((archives[0] ?? '').replace(/^archive-/, ''));
  return seen.size === 1 && backups.length === 2 && archives.length === 2 ? [...seen][0] : undefined;
}
