"""One generate command on the generation thread: the prompt through the chat template, the
sampler and logits processors, a prompt cache to start from, mlx-lm's stream_generate, and the
output split into answer text, reasoning and tool calls as protocol events, then `done`."""
import time

from mlx_worker_constrained import constrained_processors
from mlx_worker_errors import WorkerError, log
from mlx_worker_logprobs import TokenLogprobs
from mlx_worker_output import OutputSplitter, PlainOutput
from mlx_worker_prompt import initial_state, render_prompt
from mlx_worker_stops import StopMatcher


class Cancelled(Exception):
    """Raised inside generation when the request was cancelled."""


class Generation:
    """Runs `command` for `worker` (its channel, store, prompt caches, the mlx-lm functions it
    imported, and its liveness: tick, phase, is_cancelled)."""

    def __init__(self, worker, command):
        self.worker = worker
        self.channel = worker.channel
        self.command = command
        self.request_id = command["id"]
        self.ttft_ms = None
        self.logprobs = None
        self.output = None

    def run(self):
        worker, command, request_id = self.worker, self.command, self.request_id
        queue_ms = round((time.monotonic() - command["_received"]) * 1000)
        if worker.is_cancelled(request_id):
            self.emit_done("cancelled", 0, 0, {"queue_ms": queue_ms})
            return
        entry, load_ms = worker.store.ensure_loaded(command)
        config = command.get("generation_config") or {}
        tokenizer = entry.tokenizer
        tools = command.get("tools") or None
        prompt = render_prompt(tokenizer, command.get("messages") or [], tools, command.get("template_kwargs"))
        output = self.output = self.output_splitter(tokenizer, prompt, tools, command.get("parse_tools", True))
        if config.get("seed") is not None:
            worker.mx.random.seed(int(config["seed"]))
        sampler = worker.make_sampler(
            temp=float(config.get("temperature") or 0.0),
            top_p=float(config.get("top_p") or 0.0),
            min_p=float(config.get("min_p") or 0.0),
            top_k=int(config.get("top_k") or 0),
        )
        processors = self.logits_processors(config, tokenizer) + constrained_processors(tokenizer, command, prompt)
        stop = StopMatcher(config.get("stop") or [])
        if config.get("logprobs"):
            self.logprobs = TokenLogprobs(worker.mx, tokenizer, config.get("top_logprobs"))
        logprobs = self.logprobs
        # parallel_tool_calls false: the answer ends with its first tool call.
        single_call = config.get("parallel_tool_calls") is False
        worker.phase = "prefill"

        def on_prompt_progress(done, total):
            worker.tick()
            if worker.is_cancelled(request_id):
                raise Cancelled()
            self.channel.emit("progress", id=request_id, phase="prefill", done=int(done), total=int(total))

        finish = "stop"
        cache, rest, cached_tokens = worker.prompt_caches.fetch(entry, prompt)
        cache_key = list(prompt)
        completion_tokens = 0
        reasoning_tokens = 0
        last = None
        generator = worker.mlx_lm.stream_generate(
            entry.model,
            tokenizer,
            rest,
            max_tokens=int(config.get("max_tokens") or 256),
            sampler=sampler,
            logits_processors=processors,
            prompt_progress_callback=on_prompt_progress,
            **({"prompt_cache": cache} if cache is not None else {}),
        )
        try:
            for response in generator:
                worker.tick()
                worker.phase = "generate"
                last = response
                completion_tokens = response.generation_tokens
                cache_key.append(response.token)  # every token mlx-lm yields has been through the model
                if worker.is_cancelled(request_id):
                    finish = "cancelled"
                    break
                was_reasoning = output.in_reasoning
                was_answer = output.in_answer
                if logprobs is not None and response.finish_reason != "stop":
                    logprobs.add(response.token, response.logprobs)  # not the end-of-turn token: no text
                text, hit = stop.feed(response.text)
                parts = output.feed(text) if text else []
                self.send(parts)
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
            self.send((output.feed(tail) if tail else []) + output.finish())
            if finish == "stop" and output.tool_calls > 0:
                finish = "tool_calls"
        if last is not None:
            # The cache now holds the prompt and every generated token (a cancelled prefill holds less: not kept).
            worker.prompt_caches.save(entry, cache_key, cache)
        entry.last_used = time.monotonic()
        stats = {"queue_ms": queue_ms, "load_ms": load_ms}
        if self.ttft_ms is not None:
            stats["ttft_ms"] = self.ttft_ms
        if last is not None:
            stats["prompt_tps"] = round(float(last.prompt_tps), 3)
            stats["generation_tps"] = round(float(last.generation_tps), 3)
            stats["peak_memory_bytes"] = int(float(last.peak_memory) * 1e9)  # mlx-lm reports GB
        self.emit_done(finish, len(prompt), completion_tokens, stats, reasoning_tokens, cached_tokens)

    def send(self, parts):
        """Emits the output's parts; the log probabilities gathered so far ride on the last text."""
        request_id = self.request_id
        last_text = max((i for i, (kind, _) in enumerate(parts) if kind == "text"), default=None)
        for i, (kind, value) in enumerate(parts):
            if self.ttft_ms is None:
                self.ttft_ms = round((time.monotonic() - self.command["_received"]) * 1000)
            if kind == "tool_call":
                self.channel.emit("tool_call", id=request_id, **value)
            elif kind == "reasoning":
                self.channel.emit("reasoning", id=request_id, text=value)
            elif self.logprobs is not None and i == last_text:
                self.channel.emit("delta", id=request_id, text=value, logprobs=self.logprobs.take())
            else:
                self.channel.emit("delta", id=request_id, text=value)

    def output_splitter(self, tokenizer, prompt, tools, parse_tools):
        """Text, reasoning and tool calls of this generation, by mlx-lm's marker machine for the model."""
        make_machine = self.worker.make_text_state_machine
        if make_machine is None or not (tokenizer.has_thinking or tokenizer.has_tool_calling):
            return PlainOutput()
        return OutputSplitter(tokenizer, make_machine(tokenizer), initial_state(tokenizer, prompt), tools, bool(tools) and parse_tools)

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
            return self.worker.make_logits_processors(**options)
        except TypeError as error:
            raise WorkerError("bad_request", f"this mlx-lm does not support {', '.join(options)}: {error}")

    def emit_done(self, finish, prompt_tokens, completion_tokens, stats, reasoning_tokens=0, cached_tokens=0):
        if finish == "cancelled":
            # The bridge has stopped listening for this request by now (its client left), so this
            # line is the daemon log's only record of where the worker really stopped.
            log(f"generation cancelled after {int(completion_tokens)} tokens")
        self.channel.emit(
            "done",
            id=self.request_id,
            finish_reason=finish,
            usage={
                "prompt_tokens": int(prompt_tokens),
                "completion_tokens": int(completion_tokens),
                "reasoning_tokens": int(reasoning_tokens),
                "cached_tokens": int(cached_tokens),
            },
            stats=stats,
        )
