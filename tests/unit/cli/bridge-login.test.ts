/**
 * `bridge login` (bridge/cli/login.ts) in a temporary HOME: the token comes
 * from stdin only (a pipe's first line, or a terminal prompt that does not echo
 * it), lands in the bridge's config file with mode 0600 next to what was there,
 * and is then found with the precedence flag > env > config file.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runLogin, type LoginIo, type LoginOptions, type TokenInput } from '../../../bridge/cli/login.ts';
import { loadBridgeConfig } from '../../../bridge/config.ts';

const TOKEN = 'sk-br-login-test-0123456789abcdef';

let home: string;
let configFile: string;
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'bridge-login-'));
  configFile = path.join(home, '.config', 'agent-gateway', 'bridge.json');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

/** stdin as a pipe that carries `text` and ends. */
function pipe(text: string): PassThrough {
  const input = new PassThrough();
  input.end(text);
  return input;
}

/** stdin as a terminal: raw-mode switches recorded, keys typed by the test. */
function terminal(): { input: TokenInput; rawModes: boolean[]; type: (keys: string) => void } {
  const stream = new PassThrough();
  const rawModes: boolean[] = [];
  const input = Object.assign(stream, { isTTY: true, setRawMode: (raw: boolean) => rawModes.push(raw) });
  return { input, rawModes, type: (keys) => void stream.write(keys) };
}

function login(input: TokenInput, options: Partial<LoginOptions> = {}, env: Record<string, string> = {}) {
  const printed: string[] = [];
  const io: LoginIo = { input, prompt: (text) => printed.push(text), out: (line) => printed.push(line), err: (line) => printed.push(line) };
  const config = loadBridgeConfig({}, { HOME: home, ...env }, { configFileMayBeMissing: true });
  const done = runLogin(config, { tokenFlag: false, tokenInEnv: false, ...options }, io);
  return { done, printed };
}

const stored = (): Record<string, unknown> => JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;

describe('bridge login', () => {
  it("stores a piped token in the bridge's config file, readable only by its owner, and says how to start", async () => {
    const { done, printed } = login(pipe(`${TOKEN}\n`), { url: 'https://gw.example.com' });
    expect(await done).toBe(0);
    expect(stored()).toEqual({ token: TOKEN, url: 'https://gw.example.com' });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(printed.join('\n')).toContain(`Stored the bridge token in ${configFile} (mode 0600`);
    expect(printed.join('\n')).toContain('Start the bridge with: npm run bridge');
    expect(printed.join('\n')).not.toContain(TOKEN);
  });

  it('keeps the other settings of an existing config file and makes a readable file private', async () => {
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, JSON.stringify({ token: 'sk-br-old-token-0123456789', python: '/venv/bin/python', idle_unload_sec: 90 }));
    chmodSync(configFile, 0o644);
    const { done } = login(pipe(TOKEN));
    expect(await done).toBe(0);
    expect(stored()).toEqual({ token: TOKEN, python: '/venv/bin/python', idle_unload_sec: 90 });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
  });

  it('reads the token at a terminal prompt without echoing it, backspace included', async () => {
    const tty = terminal();
    const { done, printed } = login(tty.input);
    tty.type('sk-br-login-test-0123456789abcdeX');
    tty.type('\u007f\r');
    expect(await done).toBe(0);
    expect(stored()).toMatchObject({ token: 'sk-br-login-test-0123456789abcde' });
    expect(tty.rawModes).toEqual([true, false]);
    expect(printed[0]).toMatch(/^Paste the gateway's BRIDGE_TOKEN \(it is not shown\)/);
    expect(printed.join('\n')).not.toContain('sk-br-login-test');
    expect(printed.join('\n')).toContain('npm run bridge -- --url <gateway URL>');
  });

  it('stores nothing when Ctrl-C is pressed at the prompt', async () => {
    const tty = terminal();
    const { done } = login(tty.input);
    tty.type('sk-br-half\u0003');
    expect(await done).toBe(2);
    expect(tty.rawModes).toEqual([true, false]);
    expect(existsSync(configFile)).toBe(false);
  });

  it('refuses a token on the command line, stores nothing, and says to paste it', async () => {
    const { done, printed } = login(pipe(`${TOKEN}\n`), { tokenFlag: true });
    expect(await done).toBe(2);
    expect(printed.join('\n')).toContain('login reads the token from stdin, never from --token');
    expect(existsSync(configFile)).toBe(false);
  });

  it.each([
    ['', /no token was given/],
    ['sk-br short with spaces\n', /not stored \(contains whitespace\)/],
    ['short\n', /not stored \(too short \(5 characters\)\)/],
  ])('refuses stdin %j and stores nothing', async (text, message) => {
    const { done, printed } = login(pipe(text));
    expect(await done).toBe(2);
    expect(printed.join('\n')).toMatch(message);
    expect(existsSync(configFile)).toBe(false);
  });

  it('refuses a --url that is not http(s)', async () => {
    const { done, printed } = login(pipe(`${TOKEN}\n`), { url: 'ftp://gw.example.com' });
    expect(await done).toBe(2);
    expect(printed.join('\n')).toContain('--url: ftp://gw.example.com is not http(s)');
    expect(existsSync(configFile)).toBe(false);
  });

  it('leaves the stored token to --token and BRIDGE_TOKEN, which win over it, and says so when BRIDGE_TOKEN is set', async () => {
    const { done, printed } = login(pipe(`${TOKEN}\n`), { tokenInEnv: true });
    expect(await done).toBe(0);
    expect(printed.join('\n')).toContain('BRIDGE_TOKEN is set in this shell, and wins over the stored token');

    expect(loadBridgeConfig({}, { HOME: home })).toMatchObject({ token: TOKEN, tokenSource: 'config file' });
    expect(loadBridgeConfig({}, { HOME: home, BRIDGE_TOKEN: 'sk-br-from-env-0123456789' })).toMatchObject({ token: 'sk-br-from-env-0123456789', tokenSource: 'BRIDGE_TOKEN' });
    expect(loadBridgeConfig({ token: 'sk-br-from-flag-0123456789' }, { HOME: home, BRIDGE_TOKEN: 'sk-br-from-env-0123456789' })).toMatchObject({
      token: 'sk-br-from-flag-0123456789',
      tokenSource: '--token',
    });
  });

  it('writes where BRIDGE_CONFIG points', async () => {
    const elsewhere = path.join(home, 'elsewhere', 'bridge.json');
    const { done } = login(pipe(`${TOKEN}\n`), {}, { BRIDGE_CONFIG: elsewhere });
    expect(await done).toBe(0);
    expect(JSON.parse(readFileSync(elsewhere, 'utf8'))).toEqual({ token: TOKEN });
    expect(statSync(elsewhere).mode & 0o777).toBe(0o600);
  });
});
