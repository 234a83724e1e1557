/**
 * Runs one set-up command to completion and keeps its output, for the Python
 * environment's set-up (venv, pip, uv). A missing program is a result, not a throw.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code; null when the program could not be started or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The program does not exist (ENOENT). */
  missing: boolean;
}

export type RunCommand = (program: string, args: string[], options?: { env?: Record<string, string | undefined> }) => Promise<CommandResult>;

/** The real runner: no shell, output captured, the parent's environment unless one is given. */
export const runCommand: RunCommand = (program, args, options = {}) =>
  new Promise((resolve) => {
    const child = spawn(program, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr: stderr || error.message, missing: error.code === 'ENOENT' }));
    child.on('close', (code) => resolve({ code, stdout, stderr, missing: false }));
  });
