/**
 * What the bridge offers: LOCAL_MODEL_PATHS, its config file, the Hugging Face
 * cache, and Hub repos matching BRIDGE_ALLOW_DOWNLOADS; nothing else.
 */
import { describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../../bridge/config.ts';
import { allowsDownload, parseDownloadGlobs } from '../../../bridge/download-globs.ts';
import { modelNotOffered, modelOffer, type OfferRules } from '../../../bridge/runners/model-offer.ts';
import { NOT_OFFERED_MODEL_IDS, TRAVERSAL_MODEL_IDS } from '../../helpers/hostile-model-ids.ts';

const rules = (overrides: Partial<OfferRules> = {}): OfferRules => ({ modelPaths: {}, configured: [], allowDownloads: [], ...overrides });

describe('BRIDGE_ALLOW_DOWNLOADS globs', () => {
  it.each([
    ['mlx-community/*', 'mlx-community/Llama-3.2-3B-Instruct-4bit', true],
    ['mlx-community/*', 'mlx-community-evil/x', false],
    ['mlx-community/*', 'MLX-Community/x', false],
    ['mlx-community/*', 'other/mlx-community/x', false],
    ['mlx-community/Qwen*-4bit', 'mlx-community/Qwen2.5-0.5B-Instruct-4bit', true],
    ['mlx-community/Qwen*-4bit', 'mlx-community/Qwen2.5-0.5B-Instruct-8bit', false],
    ['*', 'any-org/any-repo', true],
    ['org/exact', 'org/exact', true],
    ['org/exact', 'org/exactly', false],
    ['org.name/*', 'orgXname/x', false],
  ])('%j allows %j: %s', (glob, id, allowed) => {
    expect(allowsDownload(id, [glob])).toBe(allowed);
  });

  it('reads a comma-separated list, spaces and empty entries ignored; default none', () => {
    expect(parseDownloadGlobs(' mlx-community/* , ,Qwen/Qwen2.5-*,')).toEqual({ ok: true, globs: ['mlx-community/*', 'Qwen/Qwen2.5-*'] });
    expect(parseDownloadGlobs(undefined)).toEqual({ ok: true, globs: [] });
    expect(allowsDownload('mlx-community/x', [])).toBe(false);
  });

  it('refuses a glob that could name a path, naming the variable', () => {
    expect(parseDownloadGlobs('../*')).toMatchObject({ ok: false, problem: expect.stringContaining("'..'") });
    expect(parseDownloadGlobs('a\\b')).toMatchObject({ ok: false });
    expect(parseDownloadGlobs('org/[abc]')).toMatchObject({ ok: false });
    expect(() => loadBridgeConfig({}, { HOME: '/x', BRIDGE_ALLOW_DOWNLOADS: 'mlx-community/*,../*' })).toThrow(/BRIDGE_ALLOW_DOWNLOADS: "\.\.\/\*"/);
    expect(loadBridgeConfig({}, { HOME: '/x', BRIDGE_ALLOW_DOWNLOADS: 'mlx-community/*' }).allowDownloads).toEqual(['mlx-community/*']);
    expect(loadBridgeConfig({}, { HOME: '/x' }).allowDownloads).toEqual([]);
  });
});

describe('the offer rule', () => {
  it('serves a LOCAL_MODEL_PATHS entry from its folder, whatever its name looks like', () => {
    expect(modelOffer('my-llama', rules({ modelPaths: { 'my-llama': '/weights/llama' } }))).toEqual({ source: 'path', path: '/weights/llama' });
    expect(modelOffer('a/b/c', rules({ modelPaths: { 'a/b/c': '/weights/abc' } }))).toEqual({ source: 'path', path: '/weights/abc' });
  });

  it('lets a repo the config file names, or one matching BRIDGE_ALLOW_DOWNLOADS, come from the Hub', () => {
    expect(modelOffer('org/configured', rules({ configured: ['org/configured'] }))).toEqual({ source: 'hub' });
    expect(modelOffer('mlx-community/new', rules({ allowDownloads: ['mlx-community/*'] }))).toEqual({ source: 'hub' });
    expect(modelOffer('any-org/any-repo', rules({ allowDownloads: ['*'] }))).toEqual({ source: 'hub' });
  });

  it('by default serves any other repo id only from the Hugging Face cache, never downloaded', () => {
    expect(modelOffer('mlx-community/Llama-3.2-3B-Instruct-4bit', rules())).toEqual({ source: 'cache' });
    expect(modelOffer('any-org/any-repo', rules({ allowDownloads: ['mlx-community/*'] }))).toEqual({ source: 'cache' });
    expect(modelOffer('gpt2', rules())).toEqual({ source: 'cache' });
  });

  it('offers nothing that is not a Hub repo id and not configured, even with every download allowed', () => {
    for (const id of ['qwen2.5:7b', 'tests/mlx_lm/hub/mlx-community/Llama-3.2-3B-Instruct-4bit', 'org/model@main', '-org/x']) {
      expect(modelOffer(id, rules({ allowDownloads: ['*'] }))).toBeUndefined();
    }
  });

  it.each(TRAVERSAL_MODEL_IDS)('offers nothing for %j, even with every download allowed', (id) => {
    expect(modelOffer(id, rules({ allowDownloads: ['*'], configured: [id] }))).toBeUndefined();
  });

  it('refuses traversal ids in LOCAL_MODEL_PATHS and the config file at start-up, naming where', () => {
    expect(() => loadBridgeConfig({}, { HOME: '/x', LOCAL_MODEL_PATHS: '{"../evil": "/weights"}' })).toThrow(/LOCAL_MODEL_PATHS: invalid value at \.\.\/evil/);
    expect(() => loadBridgeConfig({ modelPath: ['a//b=/weights'] }, { HOME: '/x' })).toThrow(/--model-path: the model id "a\/\/b" must not contain an empty segment/);
  });

  it.each(NOT_OFFERED_MODEL_IDS)('says how to offer %j: LOCAL_MODEL_PATHS or BRIDGE_ALLOW_DOWNLOADS', (id) => {
    const error = modelNotOffered(id);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'not_found_error', callerFault: true });
    expect(error.message).toContain(id);
    expect(error.message).toContain('LOCAL_MODEL_PATHS');
    expect(error.message).toContain('BRIDGE_ALLOW_DOWNLOADS');
  });
});
