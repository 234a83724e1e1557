/**
 * The bridge serves only the models it offers, and no model id walks out of
 * where models live (found-2026-12.md §3: `local/bridge/../../../../tmp/x`
 * reached `mlx_lm.load` unchanged, `local/any-org/any-repo` would have been
 * downloaded). Every real process: the Worker and its bridge, and a second
 * real bridge driven straight from a loopback tunnel server, so the bridge's
 * own check is proven without the gateway's in front of it. The `mlx_lm`
 * double's call log says what reached `load()`; the double's built-in hub is
 * the Hugging Face cache, MLX_DOUBLE_REMOTE_HUB the Hub.
 *
 * Why the double: the point is what would reach `mlx_lm.load` and the Hub; the double logs every
 * load call (MLX_DOUBLE_LOG) and plays the Hub (MLX_DOUBLE_REMOTE_HUB). There is no Hub here, and
 * the real library logs nothing of the kind.
 */
import { mkdirSync, mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupProcess } from '../../scripts/process-group.ts';
import { TUNNEL_PROTOCOL_VERSION, type FrameOf } from '../../protocol/tunnel-frames.ts';
import { NOT_OFFERED_MODEL_IDS, TRAVERSAL_MODEL_IDS } from '../helpers/hostile-model-ids.ts';
import { startFakeTunnelServer, type FakeTunnelServer, type TunnelPeer } from '../unit/tunnel/fake-tunnel-server.ts';
import { ask, reliabilitySuite } from './reliability-stack.ts';
import { MLX_MODEL, startBridgeProcess } from './stack-bridge.ts';

const suite = reliabilitySuite('traversal');

/** A repo on the (fake) Hub, not in the cache: served only where BRIDGE_ALLOW_DOWNLOADS allows it. */
const REMOTE_MODEL = 'remote-org/fresh-model';
const ALLOW_DOWNLOADS = 'remote-org/*';
const DIRECT_TOKEN = 'bridge-direct-token-0123456789abcdef';

let scratch: string;
let remoteHub: string;

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** What one name got: an HTTP answer through the gateway (status), or an `err` frame from the bridge (status 0). */
interface Outcome {
  id: string;
  status: number;
  code: string | null;
  param: string | null;
  message: string;
  retryable?: boolean;
}

/** Adds what was observed to the traversal figures (recorded even when an assertion below fails). */
function record(namesTried: number, loaded: readonly string[]): void {
  const before = suite.figures.traversal ?? { namesTried: 0, loaded: 0 };
  suite.figures.traversal = { namesTried: before.namesTried + namesTried, loaded: before.loaded + loaded.length };
}

/** The paths and repo ids that reached the double's `mlx_lm.load`, from its call log. */
function loads(logFile: string): string[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { call: string; path_or_hf_repo?: string })
    .filter((entry) => entry.call === 'load')
    .map((entry) => entry.path_or_hf_repo ?? '');
}

/** A 404 that says how to offer the model, in the bridge's words. */
function expectHowToAllow(message: string, id: string): void {
  expect(message).toContain(`'${id}'`);
  expect(message).toContain('LOCAL_MODEL_PATHS');
  expect(message).toContain('BRIDGE_ALLOW_DOWNLOADS');
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'traversal-'));
  remoteHub = join(scratch, 'remote-hub');
  const folder = join(remoteHub, ...REMOTE_MODEL.split('/'));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'config.json'), JSON.stringify({ model_type: 'llama', double: { reply: 'fresh from the Hub' } }));
  writeFileSync(join(folder, 'model.safetensors'), Buffer.alloc(64));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('through the gateway, with the real bridge allowed to download remote-org/*', () => {
  let logFile: string;

  beforeAll(async () => {
    logFile = join(scratch, 'gateway-bridge-calls.jsonl');
    await suite.stack.startBridge('mlx', { env: { MLX_DOUBLE_LOG: logFile, MLX_DOUBLE_REMOTE_HUB: remoteHub, BRIDGE_ALLOW_DOWNLOADS: ALLOW_DOWNLOADS } });
  });

  const chat = async (model: string): Promise<Response> =>
    suite.stack.api('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model, messages: ask('hi'), max_tokens: 16 }) });

  it('refuses every hostile or not-offered name, and none of them reaches load()', async () => {
    const outcomes: Outcome[] = [];
    for (const id of [...TRAVERSAL_MODEL_IDS, ...NOT_OFFERED_MODEL_IDS]) {
      const response = await chat(`local/${id}`);
      const { error } = (await response.json()) as ErrorBody;
      outcomes.push({ id, status: response.status, code: error.code, param: error.param, message: error.message });
    }
    record(outcomes.length, loads(logFile));
    for (const outcome of outcomes) {
      if (TRAVERSAL_MODEL_IDS.includes(outcome.id)) {
        // The gateway's own check: the bridge is never asked.
        expect({ id: outcome.id, status: outcome.status, param: outcome.param }).toEqual({ id: outcome.id, status: 400, param: 'model' });
      } else if (outcome.status === 400) {
        // A folder relative to where the bridge runs: the worker refuses it as a repo id.
        expect(outcome.message, outcome.id).toContain('LOCAL_MODEL_PATHS');
      } else {
        expect({ id: outcome.id, status: outcome.status, code: outcome.code }).toEqual({ id: outcome.id, status: 404, code: 'model_not_found' });
        expectHowToAllow(outcome.message, outcome.id);
      }
    }
    expect(loads(logFile)).toEqual([]);
  });

  it('still loads and serves a model offered in LOCAL_MODEL_PATHS', async () => {
    const { choices } = await suite.stack.client.chat.completions.create({ model: MLX_MODEL, messages: ask('still offered') });
    expect(choices[0]?.message.content).toBe('still offered');
    expect(loads(logFile).at(-1)).toMatch(/tests\/mlx_lm\/hub\/mlx-community\/Llama-3\.2-3B-Instruct-4bit$/);
  });

  it('lets a Hub id matching BRIDGE_ALLOW_DOWNLOADS reach load(), which downloads and serves it', async () => {
    const { choices } = await suite.stack.client.chat.completions.create({ model: `local/${REMOTE_MODEL}`, messages: ask('hi') });
    expect(choices[0]?.message.content).toBe('fresh from the Hub');
    expect(loads(logFile).at(-1)).toBe(REMOTE_MODEL);
  });

  it("answers an allowed repo the Hub does not have with a model_not_found of our own, not the Hub's text", async () => {
    const response = await chat('local/remote-org/no-such-repo');
    expect(loads(logFile).at(-1)).toBe('remote-org/no-such-repo'); // it was allowed to reach load()
    expect(response.status).toBe(404);
    const { error } = (await response.json()) as ErrorBody;
    expect(error).toMatchObject({ type: 'not_found_error', code: 'model_not_found' });
    expect(error.message).toContain('remote-org/no-such-repo was not found on the Hugging Face Hub');
    expect(error.message).not.toMatch(/Repository Not Found|huggingface\.co|Request ID|RepositoryNotFoundError|404 Client Error/);
  });
});

describe('at the bridge directly, past the gateway, with no LOCAL_MODEL_PATHS and no downloads allowed', () => {
  let server: FakeTunnelServer;
  let peer: TunnelPeer;
  let bridge: GroupProcess | undefined;
  let logFile: string;

  beforeAll(async () => {
    logFile = join(scratch, 'direct-bridge-calls.jsonl');
    server = await startFakeTunnelServer(DIRECT_TOKEN);
    const home = join(scratch, 'direct-home');
    mkdirSync(home, { recursive: true });
    const starting = startBridgeProcess('mlx', { url: server.url, token: DIRECT_TOKEN, home }, { env: { MLX_DOUBLE_LOG: logFile, MLX_DOUBLE_REMOTE_HUB: remoteHub, LOCAL_MODEL_PATHS: '{}' } }, (started) => {
      bridge = started;
    });
    peer = await server.nextPeer();
    await peer.welcome();
    await starting;
  });

  afterAll(async () => {
    await bridge?.stop('SIGTERM');
    await server?.close();
  });

  /** Sends a raw `req` frame (raw, so ids the frame encoder would never write go out too) and waits for its last frame. */
  async function request(id: string, index: number): Promise<FrameOf<'err'> | FrameOf<'end'>> {
    const requestId = `direct-${index}`;
    const err = peer.nextFrame('err', (frame) => frame.id === requestId);
    const end = peer.nextFrame('end', (frame) => frame.id === requestId);
    // The frame that never comes rejects when the socket closes: nobody waits for it by then.
    for (const pending of [err, end]) pending.catch(() => undefined);
    peer.socket.send(
      JSON.stringify({
        v: TUNNEL_PROTOCOL_VERSION,
        t: 'req',
        id: requestId,
        op: 'chat.completions',
        model: id,
        body: { model: `local/${id}`, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 },
        deadlineMs: 30_000,
      }),
    );
    return Promise.race([err, end]);
  }

  it('refuses every hostile or not-offered name with bad_request or model_not_found, and none reaches load()', async () => {
    const names = [...TRAVERSAL_MODEL_IDS, ...NOT_OFFERED_MODEL_IDS, REMOTE_MODEL];
    const outcomes: Outcome[] = [];
    for (const [index, id] of names.entries()) {
      const last = await request(id, index);
      outcomes.push(last.t === 'err' ? { id, status: 0, code: last.code, param: null, message: last.message, retryable: last.retryable } : { id, status: 0, code: `ended ${last.finish_reason}`, param: null, message: '' });
    }
    record(outcomes.length, loads(logFile));
    for (const outcome of outcomes) {
      expect(['bad_request', 'model_not_found'], `${outcome.id}: ${outcome.code}`).toContain(outcome.code);
      expect(outcome.retryable, outcome.id).toBe(false);
      if (outcome.code === 'model_not_found') expectHowToAllow(outcome.message, outcome.id);
    }
    expect(loads(logFile)).toEqual([]);
  });

  it('still serves a model already in the Hugging Face cache, from its snapshot', async () => {
    const last = await request('mlx-community/Llama-3.2-3B-Instruct-4bit', 1_000);
    expect(last).toMatchObject({ t: 'end', finish_reason: 'stop' });
    expect(loads(logFile)).toEqual([expect.stringMatching(/tests\/mlx_lm\/hub\/mlx-community\/Llama-3\.2-3B-Instruct-4bit$/)]);
  });
});
