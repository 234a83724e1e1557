/**
 * Bridge configuration: flags win over the environment, which wins over the
 * config file; bad values name what to fix.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../../bridge/config.ts';

let home: string | undefined;
afterEach(() => {
  if (home) rmSync(home, { recursive: true, force: true });
  home = undefined;
});

function homeWithConfig(file: unknown): string {
  home = mkdtempSync(path.join(tmpdir(), 'bridge-home-'));
  mkdirSync(path.join(home, '.config', 'agent-gateway'), { recursive: true });
  writeFileSync(path.join(home, '.config', 'agent-gateway', 'bridge.json'), JSON.stringify(file));
  return home;
}

describe('bridge config', () => {
  it('takes flags over env over the config file', () => {
    const dir = homeWithConfig({ url: 'http://file', token: 'file-token', python: '/file/python', idle_unload_sec: 30 });
    const env = { HOME: dir, BRIDGE_URL: 'http://env', BRIDGE_PYTHON: '/env/python' };
    const config = loadBridgeConfig({ url: 'http://flag' }, env);
    expect(config.url).toBe('http://flag');
    expect(config.python).toBe('/env/python');
    expect(config.token).toBe('file-token');
    expect(config.idleUnloadSec).toBe(30);
    expect(config.configFile).toContain('bridge.json');
  });

  it("runs the worker on the bridge's own environment once it exists, unless a flag, BRIDGE_PYTHON or the file names another", () => {
    const own = '/checkout/.venv/bridge/bin/python';
    const options = { ownPython: own, exists: (file: string) => file === own };
    expect(loadBridgeConfig({}, { HOME: '/nonexistent-home' }, options)).toMatchObject({ python: own, pythonSource: 'bridge environment', ownPython: own });
    const dir = homeWithConfig({ python: '/file/python' });
    expect(loadBridgeConfig({}, { HOME: dir }, options)).toMatchObject({ python: '/file/python', pythonSource: 'config file' });
    expect(loadBridgeConfig({}, { HOME: dir, BRIDGE_PYTHON: '/env/python' }, options)).toMatchObject({ python: '/env/python', pythonSource: 'BRIDGE_PYTHON' });
    expect(loadBridgeConfig({ python: '/flag/python' }, { HOME: dir, BRIDGE_PYTHON: '/env/python' }, options)).toMatchObject({ python: '/flag/python', pythonSource: '--python' });
    // An empty BRIDGE_PYTHON is "not set", as for every other variable.
    expect(loadBridgeConfig({}, { HOME: '/nonexistent-home', BRIDGE_PYTHON: '' }, options)).toMatchObject({ python: own });
  });

  it('merges model paths per id with the same precedence', () => {
    const dir = homeWithConfig({ local_model_paths: { a: '/file/a', b: '/file/b' }, models: { c: { runner: 'mlx', path: '/file/c' } } });
    const config = loadBridgeConfig({ modelPath: ['a=/flag/a'] }, { HOME: dir, LOCAL_MODEL_PATHS: '{"b":"/env/b"}' });
    expect(config.modelPaths).toEqual({ a: '/flag/a', b: '/env/b', c: '/file/c' });
  });

  it('uses python3 (when the bridge has no environment of its own), mlx and a 10 minute idle unload by default', () => {
    const config = loadBridgeConfig({}, { HOME: '/nonexistent-home' }, { ownPython: '/nowhere/.venv/bridge/bin/python' });
    expect(config).toMatchObject({ python: 'python3', pythonSource: 'default', defaultRunner: 'mlx', idleUnloadSec: 600, modelPaths: {} });
    expect(config.url).toBeUndefined();
    expect(config.hfCacheDir).toBe('/nonexistent-home/.cache/huggingface/hub');
  });

  it('names the variable when LOCAL_MODEL_PATHS is not a JSON object of paths', () => {
    expect(() => loadBridgeConfig({}, { HOME: '/x', LOCAL_MODEL_PATHS: '/path/only' })).toThrow(/LOCAL_MODEL_PATHS: is not valid JSON/);
    expect(() => loadBridgeConfig({}, { HOME: '/x', LOCAL_MODEL_PATHS: '{"a": 3}' })).toThrow(/LOCAL_MODEL_PATHS: invalid value at a/);
  });

  it('reads how many prompt caches the worker keeps from BRIDGE_PROMPT_CACHE_ENTRIES over the file, 0 allowed, else the worker decides', () => {
    const dir = homeWithConfig({ prompt_cache_entries: 4 });
    expect(loadBridgeConfig({}, { HOME: dir }).promptCacheEntries).toBe(4);
    expect(loadBridgeConfig({}, { HOME: dir, BRIDGE_PROMPT_CACHE_ENTRIES: '0' }).promptCacheEntries).toBe(0);
    expect(loadBridgeConfig({}, { HOME: '/nonexistent-home' }).promptCacheEntries).toBeUndefined();
    expect(() => loadBridgeConfig({}, { HOME: '/x', BRIDGE_PROMPT_CACHE_ENTRIES: '-1' })).toThrow(/BRIDGE_PROMPT_CACHE_ENTRIES/);
  });

  it('names the file key when the config file has an unknown or bad field', () => {
    const dir = homeWithConfig({ idle_unload_seconds: 3 });
    expect(() => loadBridgeConfig({}, { HOME: dir })).toThrow(/bridge\.json: .*idle_unload_seconds/);
  });

  it('refuses an explicit config file that does not exist, and a bad flag value', () => {
    expect(() => loadBridgeConfig({ config: '/nowhere/bridge.json' }, { HOME: '/x' })).toThrow(/config file not found/);
    expect(() => loadBridgeConfig({ idleUnloadSec: 'soon' }, { HOME: '/x' })).toThrow(/--idle-unload-sec/);
    expect(() => loadBridgeConfig({ modelPath: ['nopath'] }, { HOME: '/x' })).toThrow(/--model-path/);
  });
});
