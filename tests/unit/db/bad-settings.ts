/** The bad-input table shared by the DTO unit tests and the workerd route tests. */
import { SETTINGS_LIMITS } from '../../../db/settings-dto.ts';
import { TRAVERSAL_MODEL_IDS } from '../../helpers/hostile-model-ids.ts';

/** Each row: a field, a bad value, the `param` the 400 must name. */
export const badValues: Array<[field: string, value: unknown, param: string]> = [
  ['preferred_transport', 'cloud', 'preferred_transport'],
  ['preferred_transport', null, 'preferred_transport'],
  ['preferred_transport', 1, 'preferred_transport'],
  ['default_online_model', 'local/llama', 'default_online_model'],
  ['default_online_model', 'gpt-4o', 'default_online_model'],
  ['default_online_model', 'mistral/large', 'default_online_model'],
  ['default_online_model', 'openai/', 'default_online_model'],
  ['default_online_model', `openai/${'x'.repeat(300)}`, 'default_online_model'],
  ['default_online_model', 42, 'default_online_model'],
  ['default_local_model', 'openai/gpt-4o', 'default_local_model'],
  ['default_local_model', 'local/', 'default_local_model'],
  ['default_local_model', 'llama', 'default_local_model'],
  // Model ids with an empty, '.' or '..' segment or a backslash, as the request body refuses them.
  ...TRAVERSAL_MODEL_IDS.map((id): [string, unknown, string] => ['default_local_model', `local/${id}`, 'default_local_model']),
  ['default_online_model', 'openai/../../gpt-4o', 'default_online_model'],
  ['default_online_model', 'anthropic/claude/./x', 'default_online_model'],
  ['backup_models', ['openai/gpt-4o', 'local/bridge/../../../../tmp/x'], 'backup_models[1]'],
  ['backup_models', ['local/node_modules/../x'], 'backup_models[0]'],
  ['backup_models', ['groq/llama//x'], 'backup_models[0]'],
  ['backup_models', 'openai/gpt-4o', 'backup_models'],
  ['backup_models', ['nope'], 'backup_models[0]'],
  ['backup_models', ['openai/gpt-4o', 7], 'backup_models[1]'],
  ['backup_models', ['openai/gpt-4o', 'openai/gpt-4o'], 'backup_models'],
  ['backup_models', Array.from({ length: SETTINGS_LIMITS.backupModels + 1 }, (_, i) => `openai/m${i}`), 'backup_models'],
  ['rag_archives', 'notes', 'rag_archives'],
  ['rag_archives', [''], 'rag_archives[0]'],
  ['rag_archives', ['ok', 'a\u0000b'], 'rag_archives[1]'],
  ['rag_archives', ['line\nbreak'], 'rag_archives[0]'],
  ['rag_archives', ['x'.repeat(SETTINGS_LIMITS.archiveIdLength + 1)], 'rag_archives[0]'],
  ['rag_archives', ['same', 'same'], 'rag_archives'],
  ['rag_archives', Array.from({ length: SETTINGS_LIMITS.ragArchives + 1 }, (_, i) => `a${i}`), 'rag_archives'],
  ['rag_archives', [null], 'rag_archives[0]'],
];
