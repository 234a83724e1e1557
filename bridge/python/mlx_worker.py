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
from mlx_worker_logprobs import TokenLogprobs  # noqa: E402
from mlx_worker_output import OutputSplitter, PlainOutput  # noqa: E402
from mlx_worker_prompt import initial_state, render_prompt  # noqa: E402
from mlx_worker_prompt_cache import DEFAULT_BYTES, DEFAULT_ENTRIES, PromptCaches  # noqa: E402
from mlx_worker_self_test import self_test  # noqa: E402
from mlx_worker_stops import StopMatcher  # noqa: E402

WORKER_PROTOCOL = 1


class Cancelled(Exception):
    """Raised inside generation when the request was cancelled."""


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
        request_id = command["id"]
        self.busy = request_id
        started = time.monotonic()
        queue_ms = round((started - command["_received"]) * 1000)
        if self.is_cancelled(request_id):
            self.emit_done(request_id, "cancelled", 0, 0, {"queue_ms": queue_ms})
            return
        entry, load_ms = self.store.ensure_loaded(command)
        config = command.get("generation_config") or {}
        tokenizer = entry.tokenizer
        tools = command.get("tools") or None
        prompt = render_prompt(tokenizer, command.get("messages") or [], tools, command.get("template_kwargs"))
        output = self.output_splitter(tokenizer, prompt, tools, command.get("parse_tools", True))
        if config.get("seed") is not None:
            self.mx.random.seed(int(config["seed"]))
        sampler = self.make_sampler(
            temp=float(config.get("temperature") or 0.0),
            top_p=float(config.get("top_p") or 0.0),
            min_p=float(config.get("min_p") or 0.0),
            top_k=int(config.get("top_k") or 0),
        )
        processors = self.logits_processors(config, tokenizer)
        stop = StopMatcher(config.get("stop") or [])
        logprobs = TokenLogprobs(self.mx, tokenizer, config.get("top_logprobs")) if config.get("logprobs") else None
        # parallel_tool_calls false: the answer ends with its first tool call.
        single_call = config.get("parallel_tool_calls") is False
        self.phase = "prefill"

        def on_prompt_progress(done, total):
            self.tick()
            if self.is_cancelled(request_id):
                raise Cancelled()
            self.channel.emit("progress", id=request_id, phase="prefill", done=int(done), total=int(total))

        finish = "stop"
        prompt_tokens = len(prompt)
        cache, rest, cached_tokens = self.prompt_caches.fetch(entry, prompt)
        cache_key = list(prompt)
        completion_tokens = 0
        reasoning_tokens = 0
        ttft_ms = None
        last = None
        generator = self.mlx_lm.stream_generate(
            entry.model,
            tokenizer,
            rest,
            max_tokens=int(config.get("max_tokens") or 256),
            sampler=sampler,
            logits_processors=processors,
            prompt_progress_callback=on_prompt_progress,
            **({"prompt_cache": cache} if cache is not None else {}),
        )

        def send(parts):
            nonlocal ttft_ms
            last_text = max((i for i, (kind, _) in enumerate(parts) if kind == "text"), default=None)
            for i, (kind, value) in enumerate(parts):
                if ttft_ms is None:
                    ttft_ms = round((time.monotonic() - command["_received"]) * 1000)
                if kind == "tool_call":
                    self.channel.emit("tool_call", id=request_id, **value)
                elif kind == "reasoning":
                    self.channel.emit("reasoning", id=request_id, text=value)
                elif logprobs is not None and i == last_text:
                    self.channel.emit("delta", id=request_id, text=value, logprobs=logprobs.take())
                else:
                    self.channel.emit("delta", id=request_id, text=value)

        try:
            for response in generator:
                self.tick()
                self.phase = "generate"
                last = response
                completion_tokens = response.generation_tokens
                cache_key.append(response.token)  # every token mlx-lm yields has been through the model
                if self.is_cancelled(request_id):
                    finish = "cancelled"
                    break
                was_reasoning = output.in_reasoning
                was_answer = output.in_answer
                if logprobs is not None and response.finish_reason != "stop":
                    logprobs.add(response.token, response.logprobs)  # not the end-of-turn token: no text
                text, hit = stop.feed(response.text)
                parts = output.feed(text) if text else []
                send(parts)
                if logprobs is not None and not any(kind == "text" for kind, _ in parts):
                    if not (was_answer and output.in_answer) or output.skipping:
                        logprobs.drop()  # a marker, reasoning, a tool call or the whitespace around them
                if was_reasoning or output.in_reasoning:
                    reasoning_tokens += 1  # the think markers count too, as OpenAI counts reasoning tokens
                if hit or (single_call and output.tool_calls > 0):
                    finish = "stop"
                    break
                if response.finish_reason:
                    finish = response.finish_reason
        except Cancelled:
            finish = "cancelled"
        finally:
            generator.close()
        if finish != "cancelled":
            tail = stop.flush()
            send((output.feed(tail) if tail else []) + output.finish())
            if finish == "stop" and output.tool_calls > 0:
                finish = "tool_calls"
        if last is not None:
            # The cache now holds the prompt and every generated token (a cancelled prefill holds less: not kept).
            self.prompt_caches.save(entry, cache_key, cache)
        entry.last_used = time.monotonic()
        stats = {"queue_ms": queue_ms, "load_ms": load_ms}
        if ttft_ms is not None:
            stats["ttft_ms"] = ttft_ms
        if last is not None:
            stats["prompt_tps"] = round(float(last.prompt_tps), 3)
            stats["generation_tps"] = round(float(last.generation_tps), 3)
            stats["peak_memory_bytes"] = int(float(last.peak_memory) * 1e9)  # mlx-lm reports GB
        self.emit_done(request_id, finish, prompt_tokens, completion_tokens, stats, reasoning_tokens, cached_tokens)

    def output_splitter(self, tokenizer, prompt, tools, parse_tools):
        """Text, reasoning and tool calls of this generation, by mlx-lm's marker machine for the model."""
        if self.make_text_state_machine is None or not (tokenizer.has_thinking or tokenizer.has_tool_calling):
            return PlainOutput()
        machine = self.make_text_state_machine(tokenizer)
        return OutputSplitter(tokenizer, machine, initial_state(tokenizer, prompt), tools, bool(tools) and parse_tools)

    def logits_processors(self, config, tokenizer):
        """make_logits_processors for the penalties and logit_bias (token id -> additive bias)."""
        options = {
            key: float(config[key])
            for key in ("repetition_penalty", "presence_penalty", "frequency_penalty")
            if config.get(key) is not None
        }
        bias = config.get("logit_bias")
        if bias:
            vocabulary = len(tokenizer)
            try:
                bias = {int(token): float(value) for token, value in bias.items()}
            except (TypeError, ValueError):
                raise WorkerError("bad_request", "logit_bias keys must be token ids", param="logit_bias")
            outside = [token for token in bias if not 0 <= token < vocabulary]
            if outside:
                raise WorkerError(
                    "bad_request",
                    f"logit_bias names token {outside[0]}, outside this model's vocabulary of {vocabulary}",
                    param="logit_bias",
                )
            options["logit_bias"] = bias
        try:
            return self.make_logits_processors(**options)
        except TypeError as error:
            raise WorkerError("bad_request", f"this mlx-lm does not support {', '.join(options)}: {error}")

    def emit_done(self, request_id, finish, prompt_tokens, completion_tokens, stats, reasoning_tokens=0, cached_tokens=0):
        if finish == "cancelled":
            # The bridge has stopped listening for this request by now (its client left), so this
            # line is the daemon log's only record of where the worker really stopped.
            log(f"generation cancelled after {int(completion_tokens)} tokens")
        self.channel.emit(
            "done",
            id=request_id,
            finish_reason=finish,
            usage={
                "prompt_tokens": int(prompt_tokens),
                "completion_tokens": int(completion_tokens),
                "reasoning_tokens": int(reasoning_tokens),
                "cached_tokens": int(cached_tokens),
            },
            stats=stats,
        )


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
