/**
 * `bridge doctor`: checks what the bridge needs and, for each failure, says
 * exactly what to fix. Exit code 1 when any check fails. Never prints the token.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { safeParseJson } from '../../protocol/validate.ts';
import type { BridgeConfig } from '../config.ts';
import { MLX_WORKER_SCRIPT } from '../runners/mlx/worker-process.ts';
import { VllmRunner } from '../runners/vllm/vllm-runner.ts';
import { describeTokenProblem, describeUrlProblem } from './credential-checks.ts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
  /** A problem that does not stop the bridge (printed, does not fail the run). */
  warning?: boolean;
}

export interface DoctorDeps {
  fetch: typeof fetch;
  nodeVersion: string;
  platform: string;
  arch: string;
  timeoutMs?: number;
}

const MIN_NODE = [22, 12];
const PYTHON_TIMEOUT_MS = 30_000;

const selfTestSchema = z.object({
  event: z.literal('self_test'),
  python: z.string(),
  mlx: z.object({
    ok: z.boolean(),
    version: z.string().optional(),
    error: z.string().optional(),
    device: z.string().optional(),
    backend: z.enum(['metal', 'cpu', 'unknown']).optional(),
    recommended_working_set_bytes: z.number().nullish(),
  }),
  mlx_lm: z.object({ ok: z.boolean(), version: z.string().optional(), error: z.string().optional() }),
});
type SelfTest = z.infer<typeof selfTestSchema>;

function nodeCheck(version: string): DoctorCheck {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > (MIN_NODE[0] ?? 0) || (major === MIN_NODE[0] && minor >= (MIN_NODE[1] ?? 0));
  return ok
    ? { name: 'Node', ok, detail: `Node ${version}` }
    : { name: 'Node', ok, detail: `Node ${version} is too old`, fix: 'run the bridge with `npm run bridge` (it uses the project\'s Node 24) or install Node 22.12 or newer' };
}

/** Runs the worker's `--self-test` with the chosen interpreter: one spawn answers Python, mlx (and its backend) and mlx_lm. */
function runSelfTest(config: BridgeConfig): Promise<{ report?: SelfTest; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(config.python, [MLX_WORKER_SCRIPT, '--self-test'], { env: config.childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), PYTHON_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: error.code === 'ENOENT' ? 'not found' : error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      for (const line of stdout.split('\n')) {
        const json = safeParseJson(line);
        const parsed = json.ok ? selfTestSchema.safeParse(json.value) : undefined;
        if (parsed?.success) return resolve({ report: parsed.data });
      }
      const last = stderr.trim().split('\n').at(-1) ?? '';
      resolve({ error: `exited with code ${code}${last ? `: ${last}` : ''}` });
    });
  });
}

/** Which interpreter, and why that one: the precedence of bridge/config.ts in words. */
function describePython(config: BridgeConfig): string {
  switch (config.pythonSource) {
    case '--python':
      return `--python ${config.python}`;
    case 'BRIDGE_PYTHON':
      return `BRIDGE_PYTHON=${config.python}`;
    case 'config file':
      return `${config.python}, from python in ${config.configFile ?? config.configPath}`;
    case 'bridge environment':
      return `${config.python}, the bridge's own environment`;
    case 'default':
      return `${config.python}, since the bridge's own environment is not set up`;
  }
}

function pythonChecks(config: BridgeConfig, result: { report?: SelfTest; error?: string }, deps: DoctorDeps): DoctorCheck[] {
  const python = describePython(config);
  // The bridge's own environment is fixed by `setup`; an interpreter the user named is theirs to fix.
  const ownEnvironment = config.pythonSource === 'bridge environment' || config.pythonSource === 'default';
  const setup = 'run `npm run bridge -- setup` (makes the bridge\'s own environment with mlx-lm, used by default)';
  if (!result.report) {
    return [
      {
        name: 'Python',
        ok: false,
        detail: `${python}: ${result.error ?? 'did not run'}`,
        fix: ownEnvironment
          ? `${setup}; it needs Python 3.11 or newer (e.g. \`brew install python@3.12\`)`
          : 'install Python 3.11 or newer (e.g. `brew install python@3.12`) and set BRIDGE_PYTHON (or --python) to the interpreter that has mlx-lm, or unset it and ' + setup,
      },
    ];
  }
  const report = result.report;
  const appleSilicon = deps.platform === 'darwin' && deps.arch === 'arm64';
  const pip = `${config.python} -m pip install -U ${appleSilicon ? 'mlx-lm' : '"mlx-lm[cpu]"'}`;
  const fixImport = ownEnvironment ? setup : `${pip}   (or unset BRIDGE_PYTHON and ${setup})`;
  const checks: DoctorCheck[] = [{ name: 'Python', ok: true, detail: `${python} (Python ${report.python})` }];
  if (config.pythonSource === 'default') {
    checks.push({ name: 'Bridge environment', ok: true, warning: true, detail: `not set up at ${config.ownPython}`, fix: setup });
  }
  checks.push(report.mlx.ok ? backendCheck(report.mlx, deps) : {
    name: 'mlx',
    ok: false,
    detail: `cannot import mlx.core: ${report.mlx.error ?? 'unknown error'}`,
    fix: appleSilicon || deps.platform === 'linux' ? fixImport : 'MLX runs on Apple Silicon Macs and Linux; on this machine use the vLLM runner (VLLM_BASE_URL)',
  });
  checks.push(
    report.mlx_lm.ok
      ? { name: 'mlx-lm', ok: true, detail: `mlx-lm ${report.mlx_lm.version ?? ''}`.trim() }
      : { name: 'mlx-lm', ok: false, detail: `cannot import mlx_lm: ${report.mlx_lm.error ?? 'unknown error'}`, fix: fixImport },
  );
  return checks;
}

/** mlx imported: its version and backend. CPU is expected on Linux; on a Mac it means no Metal. */
function backendCheck(mlx: SelfTest['mlx'], deps: DoctorDeps): DoctorCheck {
  const version = `mlx ${mlx.version ?? ''}`.trim();
  const device = mlx.device ? ` (${mlx.device})` : '';
  if (mlx.backend === 'metal') {
    const budget = mlx.recommended_working_set_bytes ? `, recommended working set ${(mlx.recommended_working_set_bytes / 1e9).toFixed(1)} GB` : '';
    return { name: 'mlx', ok: true, detail: `${version} on Metal${device}${budget}` };
  }
  if (deps.platform === 'darwin') {
    return {
      name: 'mlx',
      ok: true,
      warning: true,
      detail: `${version} on the CPU${device}: Metal is not available, generation will be slow`,
      fix: 'MLX uses Metal on Apple Silicon with macOS 14 or newer; update macOS, then run `npm run bridge -- setup` again',
    };
  }
  return { name: 'mlx', ok: true, detail: `${version} on the CPU${device}: MLX's Linux build, no Metal working set, so no memory admission` };
}

function urlCheck(config: BridgeConfig): { check: DoctorCheck; url?: URL } {
  if (!config.url) {
    return { check: { name: 'Gateway URL', ok: false, detail: 'not set', fix: 'pass --url https://<your-gateway> or set BRIDGE_URL (locally: http://127.0.0.1:8787)' } };
  }
  const problem = describeUrlProblem(config.url);
  if (problem) {
    return { check: { name: 'Gateway URL', ok: false, detail: problem, fix: "use the gateway's http(s) base URL, e.g. https://agents.example.workers.dev; the bridge derives ws(s)://…/bridge/connect itself" } };
  }
  const url = new URL(config.url);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol === 'http:' && !loopback) {
    return {
      url,
      check: { name: 'Gateway URL', ok: true, warning: true, detail: `${url.origin} (plain http: the token would cross the network unencrypted)`, fix: 'use https:// for a remote gateway' },
    };
  }
  return { url, check: { name: 'Gateway URL', ok: true, detail: url.origin } };
}

/** Where the token came from, never the token: `--token` is flagged, since ps shows it. */
function tokenCheck(config: BridgeConfig): DoctorCheck {
  const token = config.token;
  if (!token) {
    return {
      name: 'Bridge token',
      ok: false,
      detail: 'not set',
      fix: `run \`npm run bridge -- login\` and paste the gateway's BRIDGE_TOKEN secret (stored in ${config.configPath}, mode 0600), or set BRIDGE_TOKEN (\`npm start\` prints it locally; \`wrangler secret put BRIDGE_TOKEN\` in production)`,
    };
  }
  const problem = describeTokenProblem(token);
  if (problem) return { name: 'Bridge token', ok: false, detail: problem.detail, fix: problem.fix };
  const found = `set (${token.length} characters)`;
  switch (config.tokenSource) {
    case '--token':
      return { name: 'Bridge token', ok: true, warning: true, detail: `${found}, from --token: visible to anyone in ps and in npm's banner`, fix: 'store it once with `npm run bridge -- login` and drop --token' };
    case 'BRIDGE_TOKEN':
      return { name: 'Bridge token', ok: true, detail: `${found}, from BRIDGE_TOKEN` };
    default:
      return configFileTokenCheck(found, config.configFile ?? config.configPath);
  }
}

/** A token in a config file that others can read is no secret. */
function configFileTokenCheck(found: string, file: string): DoctorCheck {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return { name: 'Bridge token', ok: true, warning: true, detail: `${found}, from ${file}, which others can read (mode ${mode.toString(8)})`, fix: `chmod 600 ${file}` };
  }
  return { name: 'Bridge token', ok: true, detail: `${found}, from ${file}` };
}

async function reachabilityCheck(url: URL, deps: DoctorDeps): Promise<DoctorCheck> {
  const health = new URL('health', url.href.endsWith('/') ? url.href : `${url.href}/`).href;
  try {
    const response = await deps.fetch(health, { signal: AbortSignal.timeout(deps.timeoutMs ?? 5_000) });
    if (response.ok) return { name: 'Gateway reachable', ok: true, detail: `GET ${health} → ${response.status}` };
    return { name: 'Gateway reachable', ok: false, detail: `GET ${health} → ${response.status}`, fix: 'check that the URL is the gateway\'s base URL (no path) and that the gateway is deployed' };
  } catch (error) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { name: 'Gateway reachable', ok: false, detail: `GET ${health} failed: ${reason}`, fix: 'start the gateway (`npm start` locally) or check the URL, DNS and your network' };
  }
}

function modelPathChecks(config: BridgeConfig): DoctorCheck[] {
  return Object.entries(config.modelPaths).map(([id, folder]) =>
    existsSync(path.join(folder, 'config.json'))
      ? { name: `Model ${id}`, ok: true, detail: folder }
      : { name: `Model ${id}`, ok: false, detail: `${folder} has no config.json`, fix: 'point LOCAL_MODEL_PATHS at an MLX model folder (config.json + *.safetensors), e.g. one made by `mlx_lm.convert`' },
  );
}

async function vllmCheck(config: BridgeConfig, deps: DoctorDeps): Promise<DoctorCheck[]> {
  if (!config.vllmBaseUrl) return [];
  const runner = new VllmRunner({ baseUrl: config.vllmBaseUrl, apiKey: config.vllmApiKey, fetch: deps.fetch, log: () => undefined });
  return (await runner.health())
    ? [{ name: 'vLLM', ok: true, detail: `${config.vllmBaseUrl} is healthy` }]
    : [{ name: 'vLLM', ok: false, detail: `${config.vllmBaseUrl}/health did not answer 200`, fix: 'start `vllm serve <model>` or fix VLLM_BASE_URL' }];
}

/** Runs every check; independent ones run side by side. */
export async function runDoctorChecks(config: BridgeConfig, deps: DoctorDeps): Promise<DoctorCheck[]> {
  const { check: urlResult, url } = urlCheck(config);
  const [selfTest, reachability, vllm] = await Promise.all([
    runSelfTest(config),
    url ? reachabilityCheck(url, deps) : Promise.resolve(undefined),
    vllmCheck(config, deps),
  ]);
  const checks = [nodeCheck(deps.nodeVersion), ...pythonChecks(config, selfTest, deps), urlResult, tokenCheck(config)];
  if (reachability) checks.push(reachability);
  return [...checks, ...modelPathChecks(config), ...vllm];
}

/** The report as lines: `✓ name: detail`, `✗ name: detail` + `  fix: …`. */
export function formatDoctorReport(checks: DoctorCheck[]): string[] {
  const lines: string[] = [];
  for (const check of checks) {
    const mark = !check.ok ? '✗' : check.warning ? '!' : '✓';
    lines.push(`${mark} ${check.name}: ${check.detail}`);
    if (check.fix && (!check.ok || check.warning)) lines.push(`    fix: ${check.fix}`);
  }
  const failed = checks.filter((check) => !check.ok).length;
  lines.push(failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
  return lines;
}
