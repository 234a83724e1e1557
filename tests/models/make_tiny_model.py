"""Build tests/models/tiny-chat and tiny-chat-4bit: a tiny Llama that the real mlx-lm loads from disk.

A test asset, not a language model: it is trained (fixed seeds, a plain MLX loop on the CPU) only
until greedy decoding gives the exact completions listed in tiny-chat-answers.json, then saved with
mlx-lm's own save_model/save_config and quantize_model, loaded back with mlx_lm.load and checked
through apply_chat_template and stream_generate, both copies. Exit status 1 when a check fails.

    /tmp/mlxvenv/bin/python tests/models/make_tiny_model.py   (a Python with mlx-lm[cpu] 0.32)
"""

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from pathlib import Path

import mlx.core as mx
import numpy as np
from mlx_lm.tokenizer_utils import load as load_tokenizer
from mlx_lm.utils import save_config, save_model

from tiny_model_cases import HERE, chat_template, load_cases
from tiny_model_tokenizer import EOS_TOKEN, PAD_TOKEN, render_text, train_tokenizer, write_tokenizer
from tiny_model_training import (
    QUANT_BITS,
    QUANT_GROUP_SIZE,
    buckets,
    model_config,
    parameter_count,
    quantized_copy,
    train,
)
from tiny_model_verify import verify

SEED = 12
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")


def log(message: str) -> None:
    print(message, flush=True)


def fresh_directory(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def training_sequences(tokenizer, cases: list) -> list:
    """(tokens, mask) per case: the prompt exactly as apply_chat_template gives it to a runner, then
    the completion and EOS, which are what is learnt."""
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    sequences = []
    for case in cases:
        prompt = tokenizer.apply_chat_template(case.messages, **case.template_kwargs())
        completion = tokenizer.encode(case.completion, add_special_tokens=False) + [eos]
        sequences.append((prompt + completion, [0] * len(prompt) + [1] * len(completion)))
    return sequences


def write_generation_config(tokenizer, directory: Path) -> None:
    eos = [tokenizer.convert_tokens_to_ids(token) for token in (EOS_TOKEN, PAD_TOKEN)]
    config = {"eos_token_id": eos, "pad_token_id": eos[1], "do_sample": False}
    (directory / "generation_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def describe(directory: Path) -> str:
    files = sorted(path for path in directory.iterdir() if path.is_file())
    total = sum(path.stat().st_size for path in files)
    weights = hashlib.sha256((directory / "model.safetensors").read_bytes()).hexdigest()[:16]
    listing = ", ".join(f"{path.name} {path.stat().st_size:,}" for path in files)
    return f"{directory.name}: {total:,} bytes ({listing}); model.safetensors sha256 {weights}…"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where tiny-chat/ and tiny-chat-4bit/ go")
    parser.add_argument("--max-steps", type=int, default=600)
    arguments = parser.parse_args()
    started = time.monotonic()
    random.seed(SEED)
    np.random.seed(SEED)
    mx.random.seed(SEED)
    log(f"mlx {mx.__version__} on {mx.default_device()}, seed {SEED}")

    cases, template = load_cases(), chat_template()
    full_dir = fresh_directory(arguments.out / "tiny-chat")
    quantized_dir = fresh_directory(arguments.out / "tiny-chat-4bit")

    tokenizer_model = train_tokenizer([render_text(case, template) for case in cases])
    write_tokenizer(tokenizer_model, template, full_dir)
    tokenizer = load_tokenizer(full_dir)
    write_generation_config(tokenizer, full_dir)
    log(f"tokenizer: byte-level BPE, {tokenizer_model.get_vocab_size()} tokens, {len(cases)} fixed prompts")

    config = model_config(tokenizer_model.get_vocab_size())
    config["eos_token_id"] = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    batches = buckets(training_sequences(tokenizer, cases), tokenizer.convert_tokens_to_ids(PAD_TOKEN))
    log(f"training on {sum(int(batch.inputs.size) for batch in batches)} token positions: {[batch.inputs.shape for batch in batches]}")
    model = train(config, batches, max_steps=arguments.max_steps, check_every=20, peak_lr=1e-2, log=log)
    trained_s = time.monotonic() - started

    save_model(full_dir, model)
    save_config(dict(config), full_dir / "config.json")
    quantized, quantized_config = quantized_copy(model, config)
    save_model(quantized_dir, quantized)
    save_config(quantized_config, quantized_dir / "config.json")
    for name in TOKENIZER_FILES:
        shutil.copy(full_dir / name, quantized_dir / name)
    log(f"saved; {parameter_count(model):,} parameters; 4-bit copy: {QUANT_BITS} bits, group size {QUANT_GROUP_SIZE}")

    problems = []
    for directory in (full_dir, quantized_dir):
        found, measured = verify(directory, cases, log)
        problems += [f"{directory.name}: {problem}" for problem in found]
        log(
            f"{describe(directory)}\n  long answer {measured['generation_tps_long']:.0f} tokens/s"
            f" (prompt {measured['prompt_tps_long']:.0f} tokens/s), median TTFT {measured['ttft_ms_median']:.1f} ms"
        )
    log(f"built in {trained_s:.0f} s (training included), {time.monotonic() - started:.0f} s with the checks")
    for problem in problems:
        log(f"FAILED {problem}")
    log("every fixed prompt gets its exact answer from both copies" if not problems else f"{len(problems)} checks failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
