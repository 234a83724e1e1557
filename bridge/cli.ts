#!/usr/bin/env node
/**
 * The bridge CLI: `npm run bridge -- [start|setup|login|models|doctor|install-service|uninstall-service] [flags]`.
 * A bare flag list means `start`. See docs/bridge.md.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../protocol/gateway-error.ts';
import { parseCliArgs, USAGE, type CliArgs } from './cli/args.ts';
import { formatDoctorReport, runDoctorChecks } from './cli/doctor.ts';
import { installService, serviceInputs, uninstallService } from './cli/service.ts';
import { loadBridgeConfig, type BridgeConfig } from './config.ts';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

function version(): string {
  const text = readFileSync(fileURLToPath(new URL('../package.json', import.meta.url).href), 'utf8');
  const match = /"version":\s*"([^"]+)"/.exec(text);
  return match?.[1] ?? 'unknown';
}

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      // A second Ctrl-C while draining means "now".
      process.once('SIGINT', () => process.exit(130));
      resolve(signal);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

async function run(args: CliArgs, config: BridgeConfig): Promise<number> {
  switch (args.command) {
    case 'help':
      out(USAGE);
      return 0;
    case 'start': {
      const { runStart } = await import('./cli/start.ts');
      return runStart(config, { out, err, stopRequested: stopSignal(), version: version() });
    }
    case 'setup': {
      const { runSetup } = await import('./cli/setup.ts');
      return runSetup(args.flags.python ?? config.setupPython, config.childEnv, { out, err });
    }
    case 'login': {
      const { runLogin } = await import('./cli/login.ts');
      const options = { url: args.flags.url, tokenFlag: args.flags.token !== undefined, tokenInEnv: config.tokenSource === 'BRIDGE_TOKEN' };
      return runLogin(config, options, { input: process.stdin, prompt: (text) => void process.stderr.write(text), out, err });
    }
    case 'models': {
      const { collectModels, formatModels } = await import('./cli/models.ts');
      const report = await collectModels(config, err);
      if (args.json) out(JSON.stringify(report, null, 2));
      else for (const line of formatModels(report)) out(line);
      return 0;
    }
    case 'doctor': {
      const checks = await runDoctorChecks(config, {
        fetch: (input, init) => fetch(input, init),
        nodeVersion: process.versions.node,
        platform: process.platform,
        arch: process.arch,
      });
      for (const line of formatDoctorReport(checks)) out(line);
      return checks.every((check) => check.ok) ? 0 : 1;
    }
    case 'install-service':
    case 'uninstall-service': {
      const inputs = serviceInputs(config, {
        platform: args.platform ?? process.platform,
        label: args.label,
        nodePath: process.execPath,
        cliPath: fileURLToPath(import.meta.url),
        uid: process.getuid?.() ?? 0,
      });
      if (typeof inputs === 'string') {
        err(inputs);
        return 2;
      }
      const options = { dryRun: args.dryRun, noLoad: args.noLoad, out };
      return args.command === 'install-service' ? installService(config, inputs, options) : uninstallService(inputs, options);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (error) {
    err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  let config: BridgeConfig;
  try {
    config = loadBridgeConfig(args.flags, process.env, { configFileMayBeMissing: args.command === 'login' });
  } catch (error) {
    if (GatewayError.isInstance(error)) {
      err(`configuration error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (config.tokenSource === '--token' && args.command !== 'login') {
    err("warning: --token is visible to every user of this machine (ps, npm's `> node scripts/bridge.mjs …` banner, shell history); store it once with `npm run bridge -- login` and drop --token");
  }
  return run(args, config);
}

process.exitCode = await main(process.argv.slice(2));
