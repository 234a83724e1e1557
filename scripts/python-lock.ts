/**
 * `npm run python:lock`: regenerates the bridge's hashed Python locks from
 * bridge/python-env/requirements.in, one per platform, with `uv pip compile`
 * (it resolves for another platform from here, which pip cannot), and the
 * lock of uv itself that set-up bootstraps from. Needs Python ≥ 3.11 and the
 * Python package registry; uv comes from that lock (or UV=/path/to/uv).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LOCK_TARGETS, PYTHON_ENV_DIR } from '../bridge/python-env/python-env-layout.ts';
import { UV_LOCK } from '../bridge/python-env/setup-python-env.ts';
import { runCommand } from '../bridge/python-env/run-command.ts';

async function must(program: string, args: string[], env?: Record<string, string | undefined>): Promise<void> {
  const result = await runCommand(program, args, { env: env ?? process.env });
  if (result.code !== 0) {
    console.error(`✖ ${program} ${args.join(' ')} failed:\n${result.stderr.trim()}`);
    process.exit(1);
  }
}

async function uvBinary(): Promise<{ uv: string; cleanup: () => void }> {
  if (process.env.UV) return { uv: process.env.UV, cleanup: () => undefined };
  const dir = mkdtempSync(path.join(tmpdir(), 'python-lock-'));
  await must(process.env.BRIDGE_SETUP_PYTHON ?? 'python3', ['-m', 'venv', dir]);
  await must(path.join(dir, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', path.join(PYTHON_ENV_DIR, 'requirements-uv.in')]);
  return { uv: path.join(dir, 'bin', 'uv'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const { uv, cleanup } = await uvBinary();
// Run from the folder so each lock's header names its inputs relative to it.
const env = { ...process.env, MACOSX_DEPLOYMENT_TARGET: '14.0', UV_CUSTOM_COMPILE_COMMAND: 'npm run python:lock' };
const compile = ['pip', 'compile', '--quiet', '--generate-hashes', '--python-version', '3.11', '--directory', PYTHON_ENV_DIR];
try {
  for (const target of LOCK_TARGETS) {
    await must(uv, [...compile, '--python-platform', target.uvPlatform, 'requirements.in', '-o', target.file], env);
    console.log(`✓ ${target.file}`);
  }
  await must(uv, [...compile, 'requirements-uv.in', '-o', path.basename(UV_LOCK)], env);
  console.log(`✓ ${path.basename(UV_LOCK)}`);
} finally {
  cleanup();
}
