/**
 * The bridge CLI's command line: `[command] [flags]`; a bare flag list means
 * `start`. Unknown flags are an error (a typo must not silently run defaults).
 */
import { parseArgs } from 'node:util';
import type { BridgeFlags } from '../config.ts';

export const COMMANDS = ['start', 'setup', 'login', 'models', 'doctor', 'install-service', 'uninstall-service', 'help'] as const;
export type CliCommand = (typeof COMMANDS)[number];

export interface CliArgs {
  command: CliCommand;
  flags: BridgeFlags;
  json: boolean;
  dryRun: boolean;
  noLoad: boolean;
  platform?: string;
  label?: string;
}

export const USAGE = `Usage: npm run bridge -- [command] [flags]

Commands:
  start               run the bridge in the foreground (the default)
  setup               make the bridge's own Python environment with mlx-lm (.venv/bridge; npm install does it too)
  login               store the bridge token (read from stdin, never argv) and --url in the config file (mode 0600)
  models              what this bridge can serve, and what a running bridge has loaded
  doctor              check Node, the Python environment (mlx, mlx-lm, Metal or CPU), the token, the URL and the gateway
  install-service     run the bridge at login (macOS LaunchAgent, Linux systemd user unit)
  uninstall-service   remove that service

Flags (each also from env or ~/.config/agent-gateway/bridge.json; flags win):
  --url URL             gateway base URL (BRIDGE_URL)
  --token TOKEN         the gateway's bridge token (BRIDGE_TOKEN); visible in ps: prefer \`login\`
  --python PATH         Python with mlx-lm (BRIDGE_PYTHON, default the bridge's own .venv/bridge, else python3);
                        for \`setup\`, the Python to make the environment from (BRIDGE_SETUP_PYTHON, default python3)
  --model-path ID=DIR   serve weights from DIR as ID (LOCAL_MODEL_PATHS), repeatable
  --vllm-url URL        a vllm serve endpoint (VLLM_BASE_URL)
  --idle-unload-sec N   unload a model idle this long (BRIDGE_IDLE_UNLOAD_SEC, default 600)
  --max-concurrent N    requests run at once (BRIDGE_MAX_CONCURRENT, default 2)
  --max-queue N         requests waiting beyond that (BRIDGE_MAX_QUEUE, default 16)
  --config FILE         config file (BRIDGE_CONFIG)
  --json                models: print JSON
  --dry-run             install-service/uninstall-service: print what would be written and run
  --no-load             install-service: write the files but do not load the service
  --platform NAME       install-service: darwin or linux (default: this machine)
  --label LABEL         install-service: service label (default com.agent-gateway.bridge)
`;

/** Parses argv (without node and the script); throws a plain Error with a readable message on bad input. */
export function parseCliArgs(argv: string[]): CliArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      python: { type: 'string' },
      config: { type: 'string' },
      'vllm-url': { type: 'string' },
      'idle-unload-sec': { type: 'string' },
      'max-concurrent': { type: 'string' },
      'max-queue': { type: 'string' },
      'model-path': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'no-load': { type: 'boolean' },
      platform: { type: 'string' },
      label: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (positionals.length > 1) throw new Error(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  const name = values.help ? 'help' : (positionals[0] ?? 'start');
  if (!(COMMANDS as readonly string[]).includes(name)) throw new Error(`unknown command '${name}'`);
  const flags: BridgeFlags = {};
  if (values.url !== undefined) flags.url = values.url;
  if (values.token !== undefined) flags.token = values.token;
  if (values.python !== undefined) flags.python = values.python;
  if (values.config !== undefined) flags.config = values.config;
  if (values['vllm-url'] !== undefined) flags.vllmUrl = values['vllm-url'];
  if (values['idle-unload-sec'] !== undefined) flags.idleUnloadSec = values['idle-unload-sec'];
  if (values['max-concurrent'] !== undefined) flags.maxConcurrent = values['max-concurrent'];
  if (values['max-queue'] !== undefined) flags.maxQueue = values['max-queue'];
  if (values['model-path'] !== undefined) flags.modelPath = values['model-path'];
  const args: CliArgs = {
    command: name as CliCommand,
    flags,
    json: values.json ?? false,
    dryRun: values['dry-run'] ?? false,
    noLoad: values['no-load'] ?? false,
  };
  if (values.platform !== undefined) args.platform = values.platform;
  if (values.label !== undefined) args.label = values.label;
  return args;
}
