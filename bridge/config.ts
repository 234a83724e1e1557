/**
 * The bridge's configuration, and the ONLY bridge module that reads
 * `process.env`. Precedence: command-line flags, then the environment, then
 * an optional JSON config file (`--config`, BRIDGE_CONFIG, or
 * ~/.config/agent-gateway/bridge.json; `login` stores the token there). A bad value is an error naming the
 * flag, variable or file key, raised before anything starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { GatewayError } from '../protocol/gateway-error.ts';
import { modelIdProblem } from '../protocol/model-name.ts';
import { safeParseJson } from '../protocol/validate.ts';
import { parseDownloadGlobs } from './download-globs.ts';
import { pythonEnvLayout } from './python-env/python-env-layout.ts';

export interface BridgeModelConfig {
  /** Registry name of the runner that serves this model (`mlx`, `vllm`). */
  runner?: string;
  /** Weights folder (MLX). */
  path?: string;
}

export interface BridgeConfig {
  url?: string;
  token?: string;
  /** The interpreter the worker runs: BRIDGE_PYTHON, else the bridge's own environment, else python3. */
  python: string;
  /** Where `python` came from, for `doctor`. */
  pythonSource: PythonSource;
  /** The bridge's own environment (made by `setup`/`npm install`), whether or not it exists yet. */
  ownPython: string;
  /** BRIDGE_SETUP_PYTHON: the base interpreter `setup` makes the environment from. */
  setupPython: string;
  /** LOCAL_MODEL_PATHS merged with the config file's `local_model_paths` and `models[*].path`. */
  modelPaths: Record<string, string>;
  /** Per-model settings from the config file. */
  models: Record<string, BridgeModelConfig>;
  /** The runner for a model nothing else names. */
  defaultRunner: string;
  /** BRIDGE_ALLOW_DOWNLOADS: globs of Hub repo ids the bridge may download (default none). */
  allowDownloads: string[];
  /** BRIDGE_SUPERVISOR: `launchd` when install-service's LaunchAgent runs it (it restarts after any non-zero exit). */
  supervisor: 'launchd' | undefined;
  vllmBaseUrl?: string;
  vllmApiKey?: string;
  idleUnloadSec: number;
  /** Prompt caches the MLX worker keeps per model (0: no reuse); undefined: the worker's default. */
  promptCacheEntries?: number;
  maxConcurrent: number;
  maxQueue: number;
  /** Watchdog: a worker silent this long is restarted. */
  silenceTimeoutSec: number;
  /** Watchdog: a worker generating without progress this long is restarted. */
  stallTimeoutSec: number;
  /** The Hugging Face hub cache (downloaded models are listed from it). */
  hfCacheDir: string;
  homeDir: string;
  /** The config file that was read, if any. */
  configFile?: string;
  /** Where the config file is, or would be written (`login`, `install-service`). */
  configPath: string;
  /** Where the token came from, for `doctor` and the `--token` warning. */
  tokenSource?: TokenSource;
  /** Where a running bridge records what it serves, for `bridge models`. */
  stateFile: string;
  /** The environment handed to child processes (the Python worker). */
  childEnv: Record<string, string | undefined>;
}

/** Where the worker's interpreter was named: flag > env > config file > the bridge's environment > python3. */
export type PythonSource = '--python' | 'BRIDGE_PYTHON' | 'config file' | 'bridge environment' | 'default';

/** The interpreter by precedence; the bridge's own environment only when it exists (`ownPython` set). */
export function choosePython(named: { flag?: string; env?: string; file?: string }, ownPython: string | undefined): { python: string; source: PythonSource } {
  const candidates: Array<[PythonSource, string | undefined]> = [
    ['--python', named.flag],
    ['BRIDGE_PYTHON', named.env],
    ['config file', named.file],
    ['bridge environment', ownPython],
  ];
  const found = candidates.find(([, value]) => value !== undefined && value !== '');
  return found?.[1] ? { python: found[1], source: found[0] } : { python: DEFAULTS.python, source: 'default' };
}

/** Where the bridge token was found: flag > env > config file. */
export type TokenSource = '--token' | 'BRIDGE_TOKEN' | 'config file';

/** Command-line flags that override env and file. */
export interface BridgeFlags {
  url?: string;
  token?: string;
  python?: string;
  config?: string;
  vllmUrl?: string;
  idleUnloadSec?: string;
  maxConcurrent?: string;
  maxQueue?: string;
  /** `id=/path/to/weights`, repeatable. */
  modelPath?: string[];
}

const positiveNumber = z.coerce.number().positive();
const positiveInt = z.coerce.number().int().min(1);
// A model id ends up in a path or a Hub lookup: the same rule as every request's id.
const modelIdSchema = z
  .string()
  .min(1)
  .refine((id) => modelIdProblem(id) === undefined, { message: "model ids must not contain an empty, '.' or '..' segment or a backslash" });
const modelPathsSchema = z.record(modelIdSchema, z.string().min(1));

const fileSchema = z.strictObject({
  url: z.string().optional(),
  token: z.string().optional(),
  python: z.string().min(1).optional(),
  local_model_paths: modelPathsSchema.optional(),
  models: z.record(modelIdSchema, z.strictObject({ runner: z.string().min(1).optional(), path: z.string().min(1).optional() })).optional(),
  default_runner: z.string().min(1).optional(),
  vllm_base_url: z.string().optional(),
  vllm_api_key: z.string().optional(),
  idle_unload_sec: positiveNumber.optional(),
  prompt_cache_entries: z.number().int().min(0).optional(),
  max_concurrent: positiveInt.optional(),
  max_queue: z.coerce.number().int().min(0).optional(),
  watchdog_silence_sec: positiveNumber.optional(),
  watchdog_stall_sec: positiveNumber.optional(),
});
type BridgeFile = z.infer<typeof fileSchema>;

const DEFAULTS = {
  python: 'python3',
  defaultRunner: 'mlx',
  idleUnloadSec: 600,
  maxConcurrent: 2,
  maxQueue: 16,
  silenceTimeoutSec: 30,
  stallTimeoutSec: 120,
};

/** A configuration error: names what to fix. */
export function configError(source: string, message: string): GatewayError {
  return new GatewayError({ status: 400, type: 'invalid_request_error', code: 'bad_config', param: source, message: `${source}: ${message}` });
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw configError(source, `invalid value${where}: ${issue?.message ?? 'bad value'}`);
}

function parseJsonObject(text: string, source: string): unknown {
  const json = safeParseJson(text);
  if (!json.ok) throw configError(source, 'is not valid JSON');
  return json.value;
}

function readConfigFile(file: string, required: boolean): BridgeFile {
  if (!existsSync(file)) {
    if (required) throw configError(file, 'config file not found');
    return {};
  }
  return parseWith(fileSchema, parseJsonObject(readFileSync(file, 'utf8'), file), file);
}

function parseModelPathFlags(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const equals = value.indexOf('=');
    if (equals <= 0 || equals === value.length - 1) throw configError('--model-path', `expected id=/path/to/weights, got ${JSON.stringify(value)}`);
    const id = value.slice(0, equals);
    const problem = modelIdProblem(id);
    if (problem !== undefined) throw configError('--model-path', `the model id ${JSON.stringify(id)} ${problem}`);
    out[id] = value.slice(equals + 1);
  }
  return out;
}

function pick<T>(...values: Array<T | undefined>): T | undefined {
  return values.find((value) => value !== undefined && value !== '');
}

function numberSetting<S extends z.ZodType<number>>(schema: S, flag: string | undefined, flagName: string, envValue: string | undefined, envName: string): number | undefined {
  if (flag !== undefined) return parseWith(schema, flag, flagName);
  if (envValue !== undefined && envValue !== '') return parseWith(schema, envValue, envName);
  return undefined;
}

/** The default config file location (XDG). */
export function defaultConfigFile(env: Record<string, string | undefined>, homeDir: string): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(homeDir, '.config'), 'agent-gateway', 'bridge.json');
}

export interface LoadOptions {
  /** `login` creates the config file: one named by --config or BRIDGE_CONFIG need not exist yet. */
  configFileMayBeMissing?: boolean;
  /** The bridge's own interpreter path (default: `.venv/bridge` of this checkout). */
  ownPython?: string;
  /** Whether a file exists (default: the real file system); decides whether ownPython is used. */
  exists?: (file: string) => boolean;
}

/** Resolves flags > env > config file > defaults. `env` defaults to the real process environment. */
export function loadBridgeConfig(flags: BridgeFlags = {}, env: Record<string, string | undefined> = process.env, options: LoadOptions = {}): BridgeConfig {
  const homeDir = env.HOME || os.homedir();
  const explicitFile = pick(flags.config, env.BRIDGE_CONFIG);
  const configFile = explicitFile ?? defaultConfigFile(env, homeDir);
  const file = readConfigFile(configFile, explicitFile !== undefined && !options.configFileMayBeMissing);

  const envPaths = env.LOCAL_MODEL_PATHS ? parseWith(modelPathsSchema, parseJsonObject(env.LOCAL_MODEL_PATHS, 'LOCAL_MODEL_PATHS'), 'LOCAL_MODEL_PATHS') : {};
  const filePaths: Record<string, string> = { ...file.local_model_paths };
  for (const [id, model] of Object.entries(file.models ?? {})) if (model.path) filePaths[id] = model.path;
  const modelPaths = { ...filePaths, ...envPaths, ...parseModelPathFlags(flags.modelPath) };

  const allowDownloads = parseDownloadGlobs(env.BRIDGE_ALLOW_DOWNLOADS);
  if (!allowDownloads.ok) throw configError('BRIDGE_ALLOW_DOWNLOADS', allowDownloads.problem);

  const hfHome = env.HF_HOME || path.join(homeDir, '.cache', 'huggingface');
  const stateHome = env.XDG_STATE_HOME || path.join(homeDir, '.local', 'state');
  const ownPython = options.ownPython ?? pythonEnvLayout().python;
  const chosen = choosePython({ flag: flags.python, env: env.BRIDGE_PYTHON, file: file.python }, (options.exists ?? existsSync)(ownPython) ? ownPython : undefined);
  const config: BridgeConfig = {
    python: chosen.python,
    pythonSource: chosen.source,
    ownPython,
    setupPython: pick(env.BRIDGE_SETUP_PYTHON) ?? DEFAULTS.python,
    modelPaths,
    models: file.models ?? {},
    defaultRunner: file.default_runner ?? DEFAULTS.defaultRunner,
    allowDownloads: allowDownloads.globs,
    supervisor: env.BRIDGE_SUPERVISOR === 'launchd' ? 'launchd' : undefined,
    idleUnloadSec:
      numberSetting(positiveNumber, flags.idleUnloadSec, '--idle-unload-sec', env.BRIDGE_IDLE_UNLOAD_SEC, 'BRIDGE_IDLE_UNLOAD_SEC') ??
      file.idle_unload_sec ??
      DEFAULTS.idleUnloadSec,
    promptCacheEntries:
      numberSetting(z.coerce.number().int().min(0), undefined, '--prompt-cache-entries', env.BRIDGE_PROMPT_CACHE_ENTRIES, 'BRIDGE_PROMPT_CACHE_ENTRIES') ?? file.prompt_cache_entries,
    maxConcurrent:
      numberSetting(positiveInt, flags.maxConcurrent, '--max-concurrent', env.BRIDGE_MAX_CONCURRENT, 'BRIDGE_MAX_CONCURRENT') ??
      file.max_concurrent ??
      DEFAULTS.maxConcurrent,
    maxQueue:
      numberSetting(z.coerce.number().int().min(0), flags.maxQueue, '--max-queue', env.BRIDGE_MAX_QUEUE, 'BRIDGE_MAX_QUEUE') ?? file.max_queue ?? DEFAULTS.maxQueue,
    silenceTimeoutSec: file.watchdog_silence_sec ?? DEFAULTS.silenceTimeoutSec,
    stallTimeoutSec: file.watchdog_stall_sec ?? DEFAULTS.stallTimeoutSec,
    hfCacheDir: env.HF_HUB_CACHE || path.join(hfHome, 'hub'),
    homeDir,
    stateFile: path.join(stateHome, 'agent-gateway', 'bridge-state.json'),
    configPath: configFile,
    childEnv: { ...env },
  };
  const url = pick(flags.url, env.BRIDGE_URL, file.url);
  if (url !== undefined) config.url = url;
  const tokens: Array<[TokenSource, string | undefined]> = [
    ['--token', flags.token],
    ['BRIDGE_TOKEN', env.BRIDGE_TOKEN],
    ['config file', file.token],
  ];
  const found = tokens.find(([, value]) => value !== undefined && value !== '');
  if (found) {
    config.token = found[1];
    config.tokenSource = found[0];
  }
  const vllmBaseUrl = pick(flags.vllmUrl, env.VLLM_BASE_URL, file.vllm_base_url);
  if (vllmBaseUrl !== undefined) config.vllmBaseUrl = vllmBaseUrl;
  const vllmApiKey = pick(env.VLLM_API_KEY, file.vllm_api_key);
  if (vllmApiKey !== undefined) config.vllmApiKey = vllmApiKey;
  if (existsSync(configFile)) config.configFile = configFile;
  return config;
}
