/**
 * The MLX runner serves only what the bridge offers, over the real worker and
 * the mlx_lm double: the double's built-in hub is the Hugging Face cache,
 * MLX_DOUBLE_REMOTE_HUB the Hub itself. The double's call log says what
 * reached `mlx_lm.load`.
 *
 * Why the double: what reaches `mlx_lm.load` and a Hub download is the point; the double logs
 * each load (MLX_DOUBLE_LOG) and plays the Hub (MLX_DOUBLE_REMOTE_HUB), which this machine does
 * not reach.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlxWorkerProcess } from '../../../bridge/runners/mlx/worker-process.ts';
import type { WorkerEvent } from '../../../bridge/runners/mlx/worker-protocol.ts';
import { failure } from '../../helpers/gateway-failure.ts';
import { TRAVERSAL_MODEL_IDS } from '../../helpers/hostile-model-ids.ts';
import { chat, collect, DOUBLE_PATH, HUB_MODEL, makeMlxHarness, textOf, type MlxHarness } from './mlx-harness.ts';

const config = { maxTokens: 64, stop: [] };
const never = new AbortController().signal;
/** A repo on the (fake) Hub that is not in the cache. */
const REMOTE_MODEL = 'remote-org/fresh-model';

let harness: MlxHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A harness whose double also has a remote hub (a folder of its own) holding REMOTE_MODEL. */
function harnessWithRemoteHub(allowDownloads: string[]): MlxHarness {
  const remoteHub = mkdtempSync(path.join(tmpdir(), 'mlx-remote-hub-'));
  const folder = path.join(remoteHub, ...REMOTE_MODEL.split('/'));
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ model_type: 'llama', double: { reply: 'fresh from the Hub' } }));
  writeFileSync(path.join(folder, 'model.safetensors'), Buffer.alloc(64));
  const made = makeMlxHarness({ env: { MLX_DOUBLE_REMOTE_HUB: remoteHub }, runner: { allowDownloads } });
  return {
    ...made,
    async close() {
      await made.close();
      rmSync(remoteHub, { recursive: true, force: true });
    },
  };
}

const loads = (h: MlxHarness): unknown[] => h.calls().filter((call) => call.call === 'load').map((call) => call.path_or_hf_repo);

describe('what the MLX runner serves', () => {
  it('serves a repo already in the Hugging Face cache from its snapshot, without asking the Hub', async () => {
    harness = harnessWithRemoteHub([]);
    expect(textOf(await collect(harness.runner.generate(chat(HUB_MODEL, 'from the cache'), config, never)))).toBe('from the cache');
    expect(loads(harness)).toEqual([path.join(DOUBLE_PATH, 'hub', ...HUB_MODEL.split('/'))]);
  });

  it.each(['any-org/any-repo', REMOTE_MODEL])('refuses %j, neither cached nor allowed, before any load, saying how to allow it', async (id) => {
    harness = harnessWithRemoteHub(['mlx-community/*']);
    const error = await failure(collect(harness.runner.generate(chat(id, 'hi'), config, never)));
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(error.message).toContain('BRIDGE_ALLOW_DOWNLOADS');
    expect(error.message).toContain('LOCAL_MODEL_PATHS');
    await expect(harness.runner.load(id)).rejects.toMatchObject({ code: 'model_not_found' });
    expect(loads(harness)).toEqual([]);
  });

  it('downloads a repo matching BRIDGE_ALLOW_DOWNLOADS', async () => {
    harness = harnessWithRemoteHub(['remote-org/*']);
    expect(textOf(await collect(harness.runner.generate(chat(REMOTE_MODEL, 'hi'), config, never)))).toBe('fresh from the Hub');
    expect(loads(harness)).toEqual([REMOTE_MODEL]);
  });

  it("answers an allowed repo the Hub does not have with model_not_found in its own words, not the Hub's", async () => {
    harness = harnessWithRemoteHub(['remote-org/*']);
    const error = await failure(collect(harness.runner.generate(chat('remote-org/no-such-repo', 'hi'), config, never)));
    expect(loads(harness)).toEqual(['remote-org/no-such-repo']);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(error.message).toBe(
      'remote-org/no-such-repo was not found on the Hugging Face Hub (check the repo id; a private or gated repo needs `huggingface-cli login` on the bridge\'s machine)',
    );
  });

  it.each(TRAVERSAL_MODEL_IDS)('refuses %j before the worker is even asked', async (id) => {
    harness = harnessWithRemoteHub(['*']);
    const error = await failure(harness.runner.load(id));
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(harness.runner.workerPid()).toBeUndefined();
  });
});

describe('the worker on its own (defence in depth)', () => {
  it.each([...TRAVERSAL_MODEL_IDS, 'node_modules/vitest', '/etc', '~/models'])('refuses %j as a repo id even when told it may download', async (id) => {
    harness = makeMlxHarness();
    const worker = new MlxWorkerProcess({
      python: 'python3',
      env: { PATH: process.env.PATH, PYTHONPATH: DOUBLE_PATH, MLX_DOUBLE_LOG: path.join(harness.dir, 'double-calls.jsonl') },
      heartbeatSec: 1,
      idleUnloadSec: 600,
      silenceTimeoutMs: 30_000,
      stallTimeoutMs: 30_000,
      log: () => undefined,
    });
    try {
      await worker.ready;
      const answer = new Promise<WorkerEvent>((resolve) => worker.onEvent((event) => (event.event === 'error' || event.event === 'loaded') && resolve(event)));
      worker.send({ op: 'load', id: 'load-1', model_id: id, download: true });
      expect(await answer).toMatchObject({ event: 'error', code: 'bad_request' });
      expect(loads(harness)).toEqual([]);
    } finally {
      await worker.shutdown(5_000);
    }
  });
});
