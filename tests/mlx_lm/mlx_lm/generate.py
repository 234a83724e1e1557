"""Test double of `mlx_lm.generate`: `GenerationResponse`, `generate_step` and
`stream_generate`, with the real loop shape (mlx-lm 0.32 generate.py L648)."""
import time
from dataclasses import dataclass
from typing import Optional

import mlx.core as mx
from mlx._double import env_float, env_int

from .tokenizer_utils import EOS_TOKEN_ID, TokenizerWrapper, last_user_text


@dataclass
class GenerationResponse:
    text: str
    token: int
    logprobs: object
    from_draft: bool
    prompt_tokens: int
    prompt_tps: float
    generation_tokens: int
    generation_tps: float
    peak_memory: float
    finish_reason: Optional[str] = None


def _planned_reply(model, tokenizer, prompt):
    settings = model.settings
    reply = settings.get("reply")
    if reply is None:
        reply = last_user_text(tokenizer.decode(list(prompt))) or "Hello from the mlx_lm double."
    return tokenizer.word_ids(reply), bool(settings.get("endless"))


def generate_step(
    prompt,
    model,
    *,
    max_tokens=256,
    sampler=None,
    logits_processors=None,
    max_kv_size=None,
    prompt_cache=None,
    prefill_step_size=2048,
    prompt_progress_callback=None,
    tokenizer=None,
    **kwargs,
):
    prompt_progress_callback = prompt_progress_callback or (lambda *_: None)
    total = len(prompt)
    processed = 0
    prompt_progress_callback(processed, total)
    while total - processed > 1:
        processed += min(prefill_step_size, total - processed - 1)
        prompt_progress_callback(processed, total)
    prompt_progress_callback(total, total)

    reply, endless = _planned_reply(model, tokenizer, prompt)
    delay = env_float("MLX_DOUBLE_TOKEN_DELAY_MS") / 1000
    hang_after = env_int("MLX_DOUBLE_HANG_AFTER_TOKENS")
    n = 0
    while n != max_tokens:
        if hang_after is not None and n >= hang_after:
            while True:  # a wedged Metal call: never returns, never progresses
                time.sleep(3600)
        if delay:
            time.sleep(delay)
        if n < len(reply):
            token = reply[n]
        elif endless and reply:
            token = reply[n % len(reply)]
        else:
            token = EOS_TOKEN_ID
        if n % 4 == 0:
            print(f"double step {n}")  # library chatter on stdout
        yield token, None
        n += 1


def stream_generate(model, tokenizer, prompt, max_tokens=256, draft_model=None, **kwargs):
    if not isinstance(tokenizer, TokenizerWrapper):
        raise TypeError("the double only knows its own TokenizerWrapper")
    if isinstance(prompt, str):
        prompt = tokenizer.encode(prompt)
    prompt = mx.array(prompt)
    detokenizer = tokenizer.detokenizer
    kwargs["max_tokens"] = max_tokens
    token_generator = generate_step(prompt, model, tokenizer=tokenizer, **kwargs)
    tic = time.perf_counter()
    prompt_tps = 0.0
    token = EOS_TOKEN_ID
    n = 0

    def response(finish_reason):
        # The real GenerationResponse fields, as mlx_lm fills them in.
        return GenerationResponse(
            text=detokenizer.last_segment,
            token=token,
            logprobs=None,
            from_draft=False,
            prompt_tokens=prompt.size,
            prompt_tps=prompt_tps,
            generation_tokens=n + 1,
            generation_tps=(n + 1) / max(time.perf_counter() - tic, 1e-6),
            peak_memory=mx.get_peak_memory() / 1e9,
            finish_reason=finish_reason,
        )

    for n, (token, logprobs) in enumerate(token_generator):
        if n == 0:
            prompt_time = time.perf_counter() - tic
            prompt_tps = prompt.size / max(prompt_time, 1e-6)
            tic = time.perf_counter()
        if token in tokenizer.eos_token_ids:
            break
        detokenizer.add_token(token)
        if (n + 1) == max_tokens:
            break
        yield response(None)
    detokenizer.finalize()
    yield response("stop" if token in tokenizer.eos_token_ids else "length")


def generate(model, tokenizer, prompt, verbose=False, **kwargs):
    return "".join(response.text for response in stream_generate(model, tokenizer, prompt, **kwargs))
