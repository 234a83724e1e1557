/**
 * `bridge login`: stores the bridge token in the bridge's config file (mode
 * 0600), so that it never has to appear on a command line, where `ps`, npm's
 * `> node bridge/cli.ts …` banner and the shell history show it to anyone.
 * The token is read from stdin only: typed at a prompt that does not echo it
 * when stdin is a terminal, or the first line of a pipe
 * (`printf '%s\n' "$TOKEN" | npm run bridge -- login`). `--url` may be stored
 * along with it; a URL is not secret.
 *
 * The file is the only store: the macOS keychain (`security add-generic-password`)
 * would be another, but nothing here could test it.
 */
import type { BridgeConfig } from '../config.ts';
import { readConfigObject, writePrivateConfig } from './private-config-file.ts';
import { describeTokenProblem, describeUrlProblem } from './credential-checks.ts';

/** stdin as login reads it: a terminal (raw mode, no echo) or a pipe. */
export interface TokenInput {
  readonly isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface LoginIo {
  input: TokenInput;
  /** Writes without a line break (the prompt); stderr, so stdout stays for results. */
  prompt: (text: string) => void;
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface LoginOptions {
  /** `--url`, stored with the token. */
  url?: string;
  /** `--token` was given: refused, since that is what login exists to avoid. */
  tokenFlag: boolean;
  /** BRIDGE_TOKEN is set in this environment (it wins over the stored token). */
  tokenInEnv: boolean;
}

type TerminalInput = TokenInput & { setRawMode: (raw: boolean) => unknown };

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = ['\u007f', '\b'];

/** One line typed at the terminal, not echoed; undefined on Ctrl-C or Ctrl-D. */
function readHiddenLine(input: TerminalInput): Promise<string | undefined> {
  return new Promise((resolve) => {
    let line = '';
    const finish = (value: string | undefined): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(line);
        if (char === CTRL_C || char === CTRL_D) return finish(undefined);
        if (BACKSPACE.includes(char)) line = line.slice(0, -1);
        else line += char;
      }
    };
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}

/** The first line of a pipe (all of it when it has no line break); undefined when it is empty. */
function readFirstLine(input: TokenInput): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      input.off('data', onData);
      input.pause();
      resolve(text === '' ? undefined : (text.split(/\r?\n/)[0] ?? ''));
    };
    const onData = (chunk: string): void => {
      text += chunk;
      if (text.includes('\n')) finish();
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', finish);
    input.resume();
  });
}

function isTerminal(input: TokenInput): input is TerminalInput {
  return input.isTTY === true && typeof input.setRawMode === 'function';
}

/** Reads the token from stdin: a hidden prompt on a terminal, the first line of a pipe. */
export async function readToken(io: LoginIo): Promise<string | undefined> {
  const { input } = io;
  if (!isTerminal(input)) return (await readFirstLine(input))?.trim();
  io.prompt("Paste the gateway's BRIDGE_TOKEN (it is not shown) and press Enter: ");
  const typed = await readHiddenLine(input);
  io.prompt('\n');
  return typed?.trim();
}

/** Runs `login`; resolves with the exit code. */
export async function runLogin(config: BridgeConfig, options: LoginOptions, io: LoginIo): Promise<number> {
  if (options.tokenFlag) {
    io.err("login reads the token from stdin, never from --token (ps shows every process's command line): run `npm run bridge -- login` and paste it");
    return 2;
  }
  const urlProblem = options.url === undefined ? undefined : describeUrlProblem(options.url);
  if (urlProblem) {
    io.err(`--url: ${urlProblem}`);
    return 2;
  }
  const token = await readToken(io);
  if (token === undefined || token === '') {
    io.err("no token was given: paste the gateway's BRIDGE_TOKEN at the prompt, or pipe it: printf '%s\\n' \"$TOKEN\" | npm run bridge -- login");
    return 2;
  }
  const tokenProblem = describeTokenProblem(token);
  if (tokenProblem) {
    io.err(`the token was not stored (${tokenProblem.detail}): ${tokenProblem.fix}`);
    return 2;
  }
  const file = config.configPath;
  const settings: Record<string, unknown> = { ...readConfigObject(file), token };
  if (options.url !== undefined) settings.url = options.url;
  writePrivateConfig(file, settings);
  io.out(`Stored the bridge token in ${file} (mode 0600: readable only by you).`);
  // A URL stored now, or known already (config file, BRIDGE_URL), needs no flag.
  const urlKnown = options.url !== undefined || config.url !== undefined;
  io.out(`Start the bridge with: npm run bridge${urlKnown ? '' : ' -- --url <gateway URL>'}`);
  if (options.tokenInEnv) io.out('Note: BRIDGE_TOKEN is set in this shell, and wins over the stored token until you unset it.');
  return 0;
}
