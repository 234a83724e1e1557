/**
 * Model ids the red team sent to walk out of where models live (found-2026-12.md
 * §3), and well-formed ids nobody offered. Shared by the unit, workerd and
 * end-to-end tests so each layer refuses the same list.
 */

/** The double's weights folder, as a path relative to the repo root (where the bridge runs). */
const DOUBLE_WEIGHTS = 'tests/mlx_lm/hub/mlx-community/Llama-3.2-3B-Instruct-4bit';

/** Ids with an empty, `.` or `..` segment or a backslash: 400 naming `model` wherever they arrive. */
export const TRAVERSAL_MODEL_IDS: readonly string[] = [
  'bridge/../../../../tmp/x',
  'bridge/../../../../../../tmp/x',
  'bridge/../../../../../../etc/passwd',
  `node_modules/../${DOUBLE_WEIGHTS}`,
  'node_modules/../../x',
  `x/../${DOUBLE_WEIGHTS}`,
  'x/../../../tmp/x',
  `a/b/../../${DOUBLE_WEIGHTS}`,
  'mlx-community/..',
  'mlx-community/../..',
  'mlx-community/./Llama-3.2-3B-Instruct-4bit',
  'tmp/x/..',
  '..',
  '.',
  `./${DOUBLE_WEIGHTS}`,
  '/etc/passwd',
  'a//b',
  'mlx-community/Llama-3.2-3B-Instruct-4bit/',
  'mlx-community\\..\\..\\tmp\\x',
  'a\\b',
];

/**
 * Well-formed ids that no bridge offers by default: Hub repos that are not in
 * the Hugging Face cache, a folder relative to where the bridge runs (which
 * mlx-lm would load from disk), an Ollama-style tag. 404 `model_not_found`
 * (or 400 for a relative folder), and never a load.
 */
export const NOT_OFFERED_MODEL_IDS: readonly string[] = [
  'any-org/any-repo',
  'nobody/no-such-model',
  'mlx-community/Qwen2.5-0.5B-Instruct-4bit',
  DOUBLE_WEIGHTS,
  'node_modules/vitest',
  'qwen2.5:7b',
];
