/**
 * What `npm install` and `bridge setup` say when the Python environment cannot
 * be made: one paragraph naming the cause and what to do, never a stack trace.
 */
import { MIN_PYTHON } from './python-env-layout.ts';

export type SetupProblem = 'no-python' | 'old-python' | 'no-venv' | 'unsupported-platform' | 'lock-missing' | 'no-registry' | 'install-failed';

export interface ProblemContext {
  /** The base interpreter that was tried. */
  basePython: string;
  platform: string;
  arch: string;
  /** What the tool said last (the Python version, pip's last line), when it helps. */
  detail?: string;
}

const minimum = MIN_PYTHON.join('.');
const afterwards = 'then run `npm run bridge -- setup` (or `npm install` again). The gateway itself (`npm start`) does not need Python.';

/** The paragraph for a problem. */
export function setupProblemMessage(problem: SetupProblem, context: ProblemContext): string {
  const mac = context.platform === 'darwin';
  const install = mac ? 'e.g. `brew install python@3.12`' : 'e.g. `sudo apt-get install python3 python3-venv`';
  switch (problem) {
    case 'no-python':
      return `The bridge's Python environment was not set up: no Python interpreter named ${context.basePython} was found. Install Python ${minimum} or newer (${install}), or point BRIDGE_SETUP_PYTHON at one; ${afterwards}`;
    case 'old-python':
      return `The bridge's Python environment was not set up: ${context.basePython} is Python ${context.detail ?? '?'}, and mlx-lm's pinned dependencies need ${minimum} or newer. Install a newer Python (${install}) and point BRIDGE_SETUP_PYTHON at it; ${afterwards}`;
    case 'no-venv':
      return `The bridge's Python environment was not set up: ${context.basePython} cannot create a virtual environment (${context.detail ?? 'venv failed'}). On Debian or Ubuntu install python3-venv; ${afterwards}`;
    case 'unsupported-platform':
      return `The bridge's Python environment was not set up: MLX publishes no wheels for ${context.platform}/${context.arch} (it runs on Apple Silicon Macs and on Linux x86_64/arm64). Use the vLLM runner there (VLLM_BASE_URL, docs/bridge.md). The gateway itself (\`npm start\`) does not need Python.`;
    case 'lock-missing':
      return `The bridge's Python environment was not set up: its lock file (${context.detail ?? 'bridge/python-env/*.lock'}) is missing from this checkout. Restore it (\`git checkout -- bridge/python-env\`) or regenerate it with \`npm run python:lock\`; ${afterwards}`;
    case 'no-registry':
      return `The bridge's Python environment was not set up: the Python package registry could not be reached (${context.detail ?? 'network error'}). Check your network or proxy (pip and uv honour HTTPS_PROXY; a PIP_INDEX_URL mirror serves uv too unless UV_INDEX_URL names another); ${afterwards}`;
    case 'install-failed':
      return `The bridge's Python environment was not set up: installing the locked packages failed (${context.detail ?? 'unknown error'}). Run \`npm run bridge -- setup\` to see it again, and \`npm run bridge -- doctor\` for what to fix. The gateway itself (\`npm start\`) does not need Python.`;
  }
}
