/**
 * `install-service` / `uninstall-service`: keep the bridge running at login.
 * macOS: a LaunchAgent plist in ~/Library/LaunchAgents loaded with
 * `launchctl bootstrap gui/<uid>`; Linux: a systemd user unit. The token goes
 * into the bridge's config file (mode 0600), never into the service file,
 * which other tools read freely. `--dry-run` prints everything instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BridgeConfig } from '../config.ts';
import { readConfigObject, writePrivateConfig } from './private-config-file.ts';

export const DEFAULT_SERVICE_LABEL = 'com.agent-gateway.bridge';

export interface ServiceInputs {
  platform: 'darwin' | 'linux';
  label: string;
  homeDir: string;
  /** The Node binary that runs the bridge (process.execPath). */
  nodePath: string;
  /** bridge/cli.ts */
  cliPath: string;
  /** The repository root (working directory). */
  workingDirectory: string;
  configFile: string;
  /** PATH and PYTHONPATH for the service (launchd starts with a bare PATH). */
  env: Record<string, string>;
  uid: number;
}

export interface ServicePlan {
  serviceFile: string;
  serviceContents: string;
  logFile: string;
  /** Commands that load the service (after writing the files). */
  load: string[][];
  /** Commands that unload it (before removing the file). */
  unload: string[][];
}

function xmlEscape(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function plistStrings(values: string[], indent: string): string {
  return values.map((value) => `${indent}<string>${xmlEscape(value)}</string>`).join('\n');
}

/** The LaunchAgent plist: starts at login, restarts after a crash, logs to ~/Library/Logs. */
export function launchAgentPlist(inputs: ServiceInputs, logFile: string): string {
  const env = Object.entries(inputs.env)
    .map(([key, value]) => `    <key>${xmlEscape(key)}</key>\n    <string>${xmlEscape(value)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xmlEscape(inputs.label)}</string>
  <key>ProgramArguments</key>
  <array>
${plistStrings([inputs.nodePath, inputs.cliPath, 'start', '--config', inputs.configFile], '    ')}
  </array>
  <key>WorkingDirectory</key>
  <string>${xmlEscape(inputs.workingDirectory)}</string>
  <key>EnvironmentVariables</key>
  <dict>
${env}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>ProcessType</key>
  <string>Interactive</string>
  <key>StandardOutPath</key>
  <string>${xmlEscape(logFile)}</string>
  <key>StandardErrorPath</key>
  <string>${xmlEscape(logFile)}</string>
</dict>
</plist>
`;
}

function systemdQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * The exit code of a bridge another one replaced (close 4001): non-zero, since
 * it no longer serves, and its own so that a service manager can tell it from
 * a crash and not restart it into a tug of war (the systemd unit does not).
 */
export const SUPERSEDED_EXIT_CODE = 3;

/** The systemd user unit: restarts on failure (not after a takeover), stops with SIGTERM (the bridge drains then exits). */
export function systemdUnit(inputs: ServiceInputs): string {
  const command = [inputs.nodePath, inputs.cliPath, 'start', '--config', inputs.configFile].map(systemdQuote).join(' ');
  const env = Object.entries(inputs.env)
    .map(([key, value]) => `Environment=${systemdQuote(`${key}=${value}`)}`)
    .join('\n');
  return `[Unit]
Description=agent-gateway bridge (local models for the gateway)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=${systemdQuote(inputs.workingDirectory)}
ExecStart=${command}
${env}
Restart=on-failure
RestartSec=10
# Another bridge with the same token took over: restarting would only knock it off again.
RestartPreventExitStatus=${SUPERSEDED_EXIT_CODE}
KillSignal=SIGTERM
TimeoutStopSec=30

[Install]
WantedBy=default.target
`;
}

/** Where the service file goes and the commands that load and unload it. */
export function planService(inputs: ServiceInputs): ServicePlan {
  if (inputs.platform === 'darwin') {
    const serviceFile = path.join(inputs.homeDir, 'Library', 'LaunchAgents', `${inputs.label}.plist`);
    const logFile = path.join(inputs.homeDir, 'Library', 'Logs', `${inputs.label}.log`);
    const domain = `gui/${inputs.uid}`;
    return {
      serviceFile,
      serviceContents: launchAgentPlist(inputs, logFile),
      logFile,
      load: [['launchctl', 'bootstrap', domain, serviceFile]],
      unload: [['launchctl', 'bootout', `${domain}/${inputs.label}`]],
    };
  }
  const unitName = `${inputs.label.replaceAll('.', '-')}.service`;
  const serviceFile = path.join(inputs.homeDir, '.config', 'systemd', 'user', unitName);
  return {
    serviceFile,
    serviceContents: systemdUnit(inputs),
    logFile: `journalctl --user -u ${unitName}`,
    load: [
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', unitName],
    ],
    unload: [['systemctl', '--user', 'disable', '--now', unitName]],
  };
}

/** The config file contents the service runs with: the existing file plus what flags and env gave. */
export function serviceConfigContents(config: BridgeConfig, configFile: string): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...readConfigObject(configFile), url: config.url, token: config.token, python: config.python };
  if (Object.keys(config.modelPaths).length > 0) merged.local_model_paths = config.modelPaths;
  if (config.vllmBaseUrl) merged.vllm_base_url = config.vllmBaseUrl;
  merged.idle_unload_sec = config.idleUnloadSec;
  return merged;
}

export interface ServiceRunOptions {
  dryRun: boolean;
  noLoad: boolean;
  out: (line: string) => void;
  /** Runs one command; returns its exit status and output. */
  run?: (command: string[]) => { status: number | null; output: string };
}

function runCommand(command: string[]): { status: number | null; output: string } {
  const [file = '', ...args] = command;
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.error) return { status: null, output: result.error.message };
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** Writes the config and service files and loads the service. Returns the exit code. */
export function installService(config: BridgeConfig, inputs: ServiceInputs, options: ServiceRunOptions): number {
  const { out } = options;
  if (!config.url || !config.token) {
    out('install-service needs the gateway URL and token: store them with `npm run bridge -- login --url URL` (or set BRIDGE_URL and BRIDGE_TOKEN).');
    return 2;
  }
  const plan = planService(inputs);
  const settings = serviceConfigContents(config, inputs.configFile);
  if (options.dryRun) {
    out(`# would write ${inputs.configFile} (mode 0600)`);
    out(JSON.stringify({ ...settings, token: '<redacted>' }, null, 2));
    out(`# would write ${plan.serviceFile}`);
    out(plan.serviceContents.trimEnd());
    for (const command of plan.load) out(`# would run: ${command.join(' ')}`);
    return 0;
  }
  writePrivateConfig(inputs.configFile, settings);
  mkdirSync(path.dirname(plan.serviceFile), { recursive: true });
  writeFileSync(plan.serviceFile, plan.serviceContents);
  out(`wrote ${inputs.configFile} (url, token, python; readable only by you)`);
  out(`wrote ${plan.serviceFile}`);
  if (options.noLoad) {
    out(`not loaded (--no-load); load it with: ${plan.load.map((command) => command.join(' ')).join(' && ')}`);
    return 0;
  }
  const run = options.run ?? runCommand;
  if (inputs.platform === 'darwin') for (const command of plan.unload) run(command); // re-install: replace a loaded copy
  for (const command of plan.load) {
    const result = run(command);
    if (result.status !== 0) {
      out(`failed: ${command.join(' ')}${result.output ? `\n  ${result.output}` : ''}`);
      return 1;
    }
  }
  out(`service ${inputs.label} is running; logs: ${plan.logFile}`);
  return 0;
}

/** Unloads the service and removes its file (the config file stays). */
export function uninstallService(inputs: ServiceInputs, options: ServiceRunOptions): number {
  const { out } = options;
  const plan = planService(inputs);
  if (options.dryRun) {
    for (const command of plan.unload) out(`# would run: ${command.join(' ')}`);
    out(`# would remove ${plan.serviceFile}`);
    return 0;
  }
  const run = options.run ?? runCommand;
  if (!options.noLoad) for (const command of plan.unload) run(command); // not loaded is fine
  if (existsSync(plan.serviceFile)) {
    rmSync(plan.serviceFile);
    out(`removed ${plan.serviceFile}`);
  } else {
    out(`no service file at ${plan.serviceFile}`);
  }
  if (inputs.platform === 'linux' && !options.noLoad) run(['systemctl', '--user', 'daemon-reload']);
  out(`the config file ${inputs.configFile} was kept`);
  return 0;
}

/** The inputs for this machine (or `platform` when generating for another). */
export function serviceInputs(config: BridgeConfig, options: { platform: string; label?: string; nodePath: string; cliPath: string; uid: number }): ServiceInputs | string {
  if (options.platform !== 'darwin' && options.platform !== 'linux') {
    return `install-service supports macOS (launchd) and Linux (systemd --user), not ${options.platform}: run \`npm run bridge\` from your own service manager instead`;
  }
  if (options.label !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/.test(options.label)) {
    return `--label must be letters, digits, dots and dashes (like ${DEFAULT_SERVICE_LABEL})`;
  }
  const env: Record<string, string> = { PATH: config.childEnv.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (config.childEnv.PYTHONPATH) env.PYTHONPATH = config.childEnv.PYTHONPATH;
  if (config.childEnv.HF_HOME) env.HF_HOME = config.childEnv.HF_HOME;
  // What the bridge may download is part of its setup: the service must not lose it.
  if (config.allowDownloads.length > 0) env.BRIDGE_ALLOW_DOWNLOADS = config.allowDownloads.join(',');
  // launchd cannot be told to leave exit 3 (superseded) alone, so the bridge exits 0 then (bridge/cli/start.ts).
  if (options.platform === 'darwin') env.BRIDGE_SUPERVISOR = 'launchd';
  return {
    platform: options.platform,
    label: options.label ?? DEFAULT_SERVICE_LABEL,
    homeDir: config.homeDir,
    nodePath: options.nodePath,
    cliPath: options.cliPath,
    workingDirectory: path.dirname(path.dirname(options.cliPath)),
    configFile: config.configPath,
    env,
    uid: options.uid,
  };
}
