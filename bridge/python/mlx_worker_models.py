"""The models the MLX worker holds: loading with memory-aware admission, idle
unload and cache clearing. Runs only on the generation thread (every MLX call)."""
import gc
import time
import traceback
from collections import OrderedDict
from pathlib import Path

from mlx_worker_errors import WorkerError, is_not_found, log, short_error
from mlx_worker_memory import gigabytes, kv_cache_bytes, recommended_working_set, weights_bytes
from mlx_worker_prompt_cache import PromptCaches


def refuse_unsafe_repo_id(model_id):
    """Defence in depth behind the bridge's own check: a repo id that names a folder on this machine
    (absolute, `~`, `.`/`..`/empty segments, backslashes, or an existing relative path, which mlx-lm
    would load instead of asking the Hub) is refused; weights folders belong in LOCAL_MODEL_PATHS."""
    segments = model_id.split("/")
    if (
        "\\" in model_id
        or model_id.startswith("~")
        or any(segment in ("", ".", "..") for segment in segments)
        or Path(model_id).is_absolute()
        or Path(model_id).exists()
    ):
        raise WorkerError("bad_request", f"{model_id!r} is not a Hugging Face repo id; name a weights folder in LOCAL_MODEL_PATHS")


class LoadedModel:
    def __init__(self, model_id, model, tokenizer, nbytes, prompt_cache):
        self.model_id = model_id
        self.model = model
        self.tokenizer = tokenizer
        self.bytes = nbytes
        self.prompt_cache = prompt_cache  # mlx-lm's LRUPromptCache for this model, or None
        self.last_used = time.monotonic()


class ModelStore:
    def __init__(self, channel, mx, mlx_lm, idle_unload_sec, on_progress, prompt_caches):
        self.channel = channel
        self.prompt_caches = prompt_caches
        self.mx = mx
        self.mlx_lm = mlx_lm
        self.idle_unload_sec = idle_unload_sec
        self.on_progress = on_progress  # (phase or None) -> None: liveness for the watchdog
        self.models = OrderedDict()  # model_id -> LoadedModel, least recently used first

    def recommended_working_set(self):
        return recommended_working_set(self.mx)

    def idle_wait(self):
        if not self.models:
            return None
        oldest = min(m.last_used for m in self.models.values())
        return max(0.05, oldest + self.idle_unload_sec - time.monotonic())

    def unload_idle(self):
        now = time.monotonic()
        idle = [m.model_id for m in self.models.values() if now - m.last_used >= self.idle_unload_sec]
        if idle:
            self.unload(idle, "idle", None)

    def unload(self, model_ids, reason, request_id):
        for model_id in model_ids:
            self.models.pop(model_id, None)
        gc.collect()
        self.mx.clear_cache()  # give MLX's buffer pool back (ml-explore/mlx-lm#1757)
        if model_ids or request_id is not None:
            self.channel.emit("unloaded", id=request_id, model_ids=model_ids, reason=reason)

    def ensure_loaded(self, command):
        model_id = command["model_id"]
        loaded = self.models.get(model_id)
        if loaded is not None:
            self.models.move_to_end(model_id)
            loaded.last_used = time.monotonic()
            if command["op"] == "load":
                self.channel.emit("loaded", id=command.get("id"), model_id=model_id, bytes=loaded.bytes, load_ms=0)
            return loaded, 0
        request_id = command.get("id")
        path = command.get("path")
        if path and not Path(path).exists():
            raise WorkerError("model_not_found", f"the weights folder for {model_id} does not exist: {path}")
        cached = None
        if not path:
            refuse_unsafe_repo_id(model_id)
            cached = self.cached_path(model_id)
            # Not allowed to download: the Hugging Face cache or nothing, checked before any load.
            if cached is None and not command.get("download"):
                raise WorkerError("not_offered", f"{model_id} is not in the Hugging Face cache and may not be downloaded")
        self.on_progress("load")
        self.channel.emit("progress", id=request_id, phase="load", done=0, total=1)
        local = Path(path) if path else cached
        self.admit(model_id, local, command.get("context_length"))
        started = time.monotonic()
        before = int(self.mx.get_active_memory())
        # A cached repo that may not be downloaded loads from its snapshot, so mlx-lm never asks the Hub.
        source = str(path) if path else (model_id if command.get("download") else str(cached))
        try:
            model, tokenizer = self.mlx_lm.load(source)[:2]
        except Exception as error:  # noqa: BLE001 - classified for the client
            log(traceback.format_exc())
            if is_not_found(error):
                # Our own words: the Hub's text (request ids, URLs) stays in the bridge's log.
                raise WorkerError(
                    "model_not_found",
                    f"{model_id} was not found on the Hugging Face Hub (check the repo id; "
                    "a private or gated repo needs `huggingface-cli login` on the bridge's machine)",
                )
            if isinstance(error, MemoryError):
                raise WorkerError("insufficient_memory", f"loading {model_id} ran out of memory")
            raise WorkerError("load_failed", f"model {model_id} could not be loaded: {short_error(error)}")
        self.on_progress(None)
        measured = int(self.mx.get_active_memory()) - before
        nbytes = measured if measured > 0 else (weights_bytes(local) if local else 0)
        entry = LoadedModel(model_id, model, tokenizer, nbytes, self.prompt_caches.new_store())
        self.models[model_id] = entry
        budget = self.recommended_working_set()
        if budget and self.loaded_bytes() > budget:
            self.unload([model_id], "memory", None)
            raise WorkerError(
                "insufficient_memory",
                f"{model_id} takes {gigabytes(nbytes)} in memory, more than this Mac's recommended working set "
                f"({gigabytes(budget)}) allows with what is loaded",
            )
        load_ms = round((time.monotonic() - started) * 1000)
        self.channel.emit("progress", id=request_id, phase="load", done=1, total=1)
        self.channel.emit("loaded", id=request_id, model_id=model_id, bytes=nbytes, load_ms=load_ms)
        return entry, load_ms

    def cached_path(self, model_id):
        """The local snapshot of a Hub repo when it is already in the Hugging Face cache (no network)."""
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(model_id, local_files_only=True))
        except Exception:  # noqa: BLE001 - not cached (or not a repo id): nothing on this machine
            return None

    def loaded_bytes(self):
        return sum(m.bytes for m in self.models.values())

    def admit(self, model_id, local, context_length):
        budget = self.recommended_working_set()
        if not budget:
            return
        weights = weights_bytes(local) if local else 0
        kv = kv_cache_bytes(local, context_length) if local else 0
        need = weights + kv
        if need > budget:
            raise WorkerError(
                "insufficient_memory",
                f"{model_id} needs about {gigabytes(need)} (weights {gigabytes(weights)} + KV cache "
                f"{gigabytes(kv)} for {context_length or 0} tokens), more than this Mac's recommended "
                f"working set of {gigabytes(budget)}",
            )
        # Kept prompt caches go before any model does: they are only a speed-up.
        if self.loaded_bytes() + PromptCaches.nbytes(self.models.values()) + need > budget:
            if PromptCaches.drop(self.models.values()):
                self.mx.clear_cache()
        # Every other loaded model is idle here (this thread is the only one generating).
        evicted = []
        while self.models and self.loaded_bytes() + need > budget:
            evicted.append(next(iter(self.models)))
            self.models.pop(evicted[-1])
        if evicted:
            self.unload(evicted, "memory", None)
