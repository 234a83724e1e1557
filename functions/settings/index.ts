/** The settings feature's public face: the service, and what the agent factory reads. */
export { createSettingsService, type SettingsService, type SettingsServiceOptions } from './settings-service.ts';
export { settingsServiceFor } from './settings-for-env.ts';
export {
  loadAgentDefaults,
  invalidateAgentDefaults,
  AGENT_DEFAULTS_TTL_MS,
  AGENT_DEFAULTS_FAILURE_TTL_MS,
  AGENT_DEFAULTS_TIMEOUT_MS,
  type AgentDefaults,
  type LoadAgentDefaultsOptions,
} from './load-agent-defaults.ts';
export { toDatabaseError, databaseNotConfigured } from './database-error.ts';
export type { UserSettings, SettingsChange, SettingsReplacement } from '../../db/settings-dto.ts';
