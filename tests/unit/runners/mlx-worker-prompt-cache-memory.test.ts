/**
 * Memory admission and the kept prompt caches, on the REAL mlx-lm with the
 * tiny model: the worker's own ModelStore and PromptCaches driven in-process
 * (a recorded channel, the working set set by the test, since only Metal has
 * one). A load that would not fit drops the caches first, so no model has to
 * go; a load that fits keeps them.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { realPython, TINY_CHAT, REAL_ENGINE_TIMEOUT_MS } from '../../helpers/mlx-real-engine.ts';

const WORKER_DIR = fileURLToPath(new URL('../../../bridge/python', import.meta.url).href);

const SCRIPT = `
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import mlx.core as mx
import mlx_lm
from mlx_worker_memory import kv_cache_bytes, weights_bytes
from mlx_worker_models import ModelStore
from mlx_worker_prompt_cache import PromptCaches

class Channel:
    def __init__(self): self.events = []
    def emit(self, event, **fields): self.events.append({"event": event, **fields}); return True

path, tight = sys.argv[2], sys.argv[3] == "tight"
channel, caches = Channel(), PromptCaches()
store = ModelStore(channel, mx, mlx_lm, 600, lambda phase: None, caches)
store.recommended_working_set = lambda: None
first, _ = store.ensure_loaded({"op": "load", "id": "1", "model_id": "first", "path": path})
prompt = first.tokenizer.apply_chat_template([{"role": "user", "content": "Say hello"}], add_generation_prompt=True)
cache, rest, _ = caches.fetch(first, prompt)
tokens = list(prompt)
for response in mlx_lm.stream_generate(first.model, first.tokenizer, rest, max_tokens=8, prompt_cache=cache):
    tokens.append(response.token)
caches.save(first, tokens, cache)
kept = PromptCaches.nbytes([first])
need = weights_bytes(Path(path)) + kv_cache_bytes(Path(path), 64)
# Tight: the second model fits beside the first, but not beside the first and its caches too.
budget = store.loaded_bytes() + need + (kept - 1 if tight else 10 * kept)
store.recommended_working_set = lambda: budget
store.ensure_loaded({"op": "load", "id": "2", "model_id": "second", "path": path, "context_length": 64})
print(json.dumps({
    "kept_before": kept,
    "kept_after": PromptCaches.nbytes(store.models.values()),
    "models": list(store.models),
    "unloaded": [e["model_ids"] for e in channel.events if e["event"] == "unloaded"],
}))
`;

function admit(mode: 'tight' | 'roomy'): { kept_before: number; kept_after: number; models: string[]; unloaded: string[][] } {
  const run = spawnSync(realPython(), ['-c', SCRIPT, WORKER_DIR, TINY_CHAT, mode], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (run.status !== 0) throw new Error(`the admission script failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as ReturnType<typeof admit>;
}

describe('prompt caches under memory pressure on the real mlx-lm', { timeout: REAL_ENGINE_TIMEOUT_MS }, () => {
  it('drops the kept prompt caches, not a model, when a load would not fit beside them', () => {
    const result = admit('tight');
    expect(result.kept_before).toBeGreaterThan(0);
    expect(result.kept_after).toBe(0);
    expect(result.models).toEqual(['first', 'second']);
    expect(result.unloaded).toEqual([]);
  }, 30_000);

  it('keeps them when the load fits', () => {
    const result = admit('roomy');
    expect(result.kept_after).toBe(result.kept_before);
    expect(result.models).toEqual(['first', 'second']);
  }, 30_000);
});
