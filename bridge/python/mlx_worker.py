#!/usr/bin/env python3
"""agent-gateway MLX worker: runs mlx-lm for the bridge, one JSON object per line.

stdin  (commands): {"op":"load","id","model_id","path"?,"context_length"?}
                   {"op":"generate","id","model_id","path"?,"messages","tools"?,"parse_tools"?,
                    "template_kwargs"?,"generation_config","context_length"?}
                   {"op":"cancel","id"} {"op":"unload","id"?,"model_id"?} {"op":"stats","id"?} {"op":"shutdown"}
stdout (events):   ready, fatal, loaded, progress, delta, reasoning, tool_call, done, error, heartbeat,
                   unloaded, stats, bye
stderr:            logs, library output, progress bars.

Threads: the main thread reads stdin; ONE generation thread imports mlx and owns
every MLX call (mlx >= 0.31.2 streams are thread-local, ml-explore/mlx-lm#1181);
a heartbeat thread reports liveness and a progress counter for the bridge's
watchdog. The protocol is documented in docs/bridge.md. The worker never
outlives its bridge: stdin EOF, a failed protocol write or a vanished parent
each start the shutdown (see mlx_worker_lifeline.py).
"""
import os
import sys

# Before importing anything: keep the real stdout for the protocol and point fd 1
# at stderr, so library prints, C-level writes and download progress bars can
# never corrupt a protocol line.
_PROTOCOL_FD = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

# Our own modules sit next to this script (also under PYTHONSAFEPATH).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlx_worker_channel import Channel  # noqa: E402
from mlx_worker_errors import WorkerError, log, short_error  # noqa: E402
from mlx_worker_lifeline import arm_exit_timer, watch_parent  # noqa: E402
from mlx_worker_models import ModelStore  # noqa: E402
from mlx_worker_generate import Generation  # noqa: E402
from mlx_worker_prompt_cache import DEFAULT_BYTES, DEFAULT_ENTRIES, PromptCaches  # noqa: E402
from mlx_worker_self_test import self_test  # noqa: E402

WORKER_PROTOCOL = 1


class Worker:
    def __init__(self, channel, heartbeat_sec, idle_unload_sec, exit_grace_sec, prompt_cache_entries, prompt_cache_bytes):
        self.channel = channel
        self.heartbeat_sec = heartbeat_sec
        self.idle_unload_sec = idle_unload_sec
        self.prompt_cache_limits = (prompt_cache_entries, prompt_cache_bytes)
        self.exit_grace_sec = exit_grace_sec
        self.jobs = queue.Queue()
        self.control = queue.Queue()
        self.store = None  # ModelStore, once mlx is imported
        self.cancelled = set()
        self.lock = threading.Lock()
        self.progress = 0
        self.busy = None
        self.phase = None
        self.shutting_down = False
        self.mx = None
        self.mlx_lm = None

    # ----- reader side (main thread) -----

    def accept(self, line):
        try:
            command = json.loads(line)
        except ValueError:
            self.channel.emit("error", code="protocol", message="command is not JSON")
            return True
        if not isinstance(command, dict) or not isinstance(command.get("op"), str):
            self.channel.emit("error", code="protocol", message="command needs an 'op'")
            return True
        op = command["op"]
        if op == "cancel":
            with self.lock:
                self.cancelled.add(command.get("id"))
            return True
        if op == "stats":
            self.control.put(command)
            self.jobs.put({"op": "_wake"})
            return True
        if op == "shutdown":
            self.begin_shutdown()
            return False
        if op not in ("load", "generate", "unload"):
            self.channel.emit("error", id=command.get("id"), code="protocol", message=f"unknown op {op!r}")
            return True
        command["_received"] = time.monotonic()
        if op == "generate" and self.busy is not None:
            self.channel.emit("progress", id=command.get("id"), phase="queued", done=self.jobs.qsize() + 1)
        self.jobs.put(command)
        return True

    def begin_shutdown(self):
        """Cancels the running request, unloads and exits; idempotent, callable from any thread."""
        with self.lock:
            if self.shutting_down:
                return
            self.shutting_down = True
            if self.busy:
                self.cancelled.add(self.busy)
        self.jobs.put({"op": "_shutdown"})
        # The generation thread unloads and exits; when it is stuck in a library call, go anyway.
        arm_exit_timer(self.exit_grace_sec)

    def is_cancelled(self, request_id):
        with self.lock:
            return self.shutting_down or request_id in self.cancelled

    def forget(self, request_id):
        with self.lock:
            self.cancelled.discard(request_id)

    # ----- heartbeat thread -----

    def heartbeat_loop(self):
        while True:
            time.sleep(self.heartbeat_sec)
            if not self.channel.emit("heartbeat", busy=self.busy, phase=self.phase, progress=self.progress):
                return  # the bridge is gone: the channel started the shutdown

    def tick(self):
        self.progress += 1

    def on_load_progress(self, phase):
        if phase:
            self.phase = phase
        self.tick()

    # ----- generation thread: every MLX call happens here -----

    def run(self):
        try:
            import mlx.core as mx
            import mlx_lm
            from mlx_lm.sample_utils import make_logits_processors, make_sampler
        except Exception as error:  # noqa: BLE001 - any import failure is fatal and reported
            self.channel.emit("fatal", code="mlx_unavailable", message=f"cannot import mlx_lm: {short_error(error)}")
            log(traceback.format_exc())
            os._exit(3)
        self.mx = mx
        self.mlx_lm = mlx_lm
        self.prompt_caches = PromptCaches(*self.prompt_cache_limits)
        self.store = ModelStore(self.channel, mx, mlx_lm, self.idle_unload_sec, self.on_load_progress, self.prompt_caches)
        self.make_sampler = make_sampler
        self.make_logits_processors = make_logits_processors
        try:
            # mlx-lm's own marker machine for reasoning and tool blocks (0.32); without it, plain text.
            from mlx_lm.generate import make_text_state_machine

            self.make_text_state_machine = make_text_state_machine
        except ImportError:
            self.make_text_state_machine = None
        self.channel.emit(
            "ready",
            protocol=WORKER_PROTOCOL,
            pid=os.getpid(),
            python=platform.python_version(),
            mlx_lm_version=getattr(mlx_lm, "__version__", "unknown"),
            mlx_version=getattr(mx, "__version__", "unknown"),
            recommended_working_set_bytes=self.store.recommended_working_set(),
        )
        while True:
            try:
                command = self.jobs.get(timeout=self.store.idle_wait())
            except queue.Empty:
                self.store.unload_idle()
                continue
            self.serve_control()
            op = command["op"]
            if op == "_shutdown":
                self.store.unload(list(self.store.models), "shutdown", None)  # frees MLX memory first
                self.channel.emit("bye")
                os._exit(0)
            if self.shutting_down:
                continue  # queued before the shutdown: not worth a load or a generation now
            try:
                if op == "load":
                    self.busy = command.get("id")
                    self.store.ensure_loaded(command)
                elif op == "generate":
                    self.handle_generate(command)
                elif op == "unload":
                    target = command.get("model_id")
                    models = self.store.models
                    ids = [target] if target in models else ([] if target else list(models))
                    self.store.unload(ids, "request", command.get("id"))
            except WorkerError as error:
                extra = {"param": error.param} if error.param else {}
                self.channel.emit("error", id=command.get("id"), code=error.code, message=str(error), **extra)
            except Exception as error:  # noqa: BLE001 - the worker must survive any one request
                log(traceback.format_exc())
                self.channel.emit("error", id=command.get("id"), code="internal", message=short_error(error))
            finally:
                self.busy = None
                self.phase = None
                self.forget(command.get("id"))
            self.store.unload_idle()

    def serve_control(self):
        while True:
            try:
                command = self.control.get_nowait()
            except queue.Empty:
                return
            self.channel.emit("stats", id=command.get("id"), **self.stats())

    def stats(self):
        now = time.monotonic()
        mx = self.mx
        return {
            "models": [
                {
                    "model_id": m.model_id,
                    "bytes": m.bytes,
                    "idle_sec": round(now - m.last_used, 3),
                    "prompt_cache_bytes": PromptCaches.nbytes([m]),
                    "prompt_caches": len(m.prompt_cache) if m.prompt_cache is not None else 0,
                }
                for m in self.store.models.values()
            ],
            "memory": {
                "active_bytes": int(mx.get_active_memory()),
                "peak_bytes": int(mx.get_peak_memory()),
                "cache_bytes": int(mx.get_cache_memory()),
                "recommended_working_set_bytes": self.store.recommended_working_set(),
            },
            "busy": self.busy,
        }

    # ----- generate -----

    def handle_generate(self, command):
        self.busy = command["id"]
        Generation(self, command).run()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heartbeat-sec", type=float, default=1.0)
    parser.add_argument("--idle-unload-sec", type=float, default=600.0)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--parent-pid", type=int, default=None, help="the bridge's pid: exit when it is gone")
    parser.add_argument("--exit-grace-sec", type=float, default=5.0, help="how long an orderly shutdown may take")
    parser.add_argument("--prompt-cache-entries", type=int, default=DEFAULT_ENTRIES, help="prompt caches kept per model (0: no reuse)")
    parser.add_argument("--prompt-cache-bytes", type=int, default=DEFAULT_BYTES, help="bytes of prompt caches kept per model")
    args = parser.parse_args()
    channel = Channel(_PROTOCOL_FD)
    if args.self_test:
        self_test(channel)
        return
    worker = Worker(
        channel, args.heartbeat_sec, args.idle_unload_sec, args.exit_grace_sec, args.prompt_cache_entries, args.prompt_cache_bytes
    )
    channel.on_lost = worker.begin_shutdown  # a write to a bridge that is gone
    threading.Thread(target=worker.run, name="mlx-generation", daemon=True).start()
    threading.Thread(target=worker.heartbeat_loop, name="heartbeat", daemon=True).start()
    watch_parent(args.parent_pid, worker.begin_shutdown, interval_sec=min(0.5, args.heartbeat_sec))
    try:
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", errors="replace").strip()
            if line and not worker.accept(line):
                break
    except (OSError, ValueError):
        pass  # stdin broken: as good as closed
    worker.begin_shutdown()  # stdin closed (the bridge is gone) or a shutdown command
    threading.Event().wait()  # the generation thread (or the exit timer) ends the process


if __name__ == "__main__":
    main()
