"""Constrained decoding's per-token cost on the real mlx-lm (CPU here): the tiny model's shape and
vocabulary with random weights (tests/models/make_random_model.py), one JSON schema, greedy
stream_generate with and without the grammar's logits processor. Rounds interleave the variants
(the machine is shared); figures are medians. Issue 13's target: with / without <= 1.2.

llguidance is the worker's own processor (bridge/python/mlx_worker_constrained.py). outlines-core
and xgrammar are measured when importable in the interpreter that runs this (not in the bridge's
environment: install them into a scratch venv to compare), each through the same mask-applying
step, so the difference is the library's mask computation.

    .venv/bridge/bin/python bench/constrained-decoding.py [rounds]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bridge", "python"))

import mlx.core as mx  # noqa: E402
import mlx_lm  # noqa: E402
import numpy as np  # noqa: E402

from mlx_worker_constrained import constrained_processors  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "colour": {"enum": ["red", "green", "blue"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 6},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 30}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age", "colour", "tags", "address"],
    "additionalProperties": False,
}


class Timed:
    """Wraps a processor, adding up the time it takes per call (mask computation and application)."""

    def __init__(self, inner):
        self.inner, self.seconds, self.calls = inner, 0.0, 0

    def __call__(self, tokens, logits):
        start = time.perf_counter()
        out = self.inner(tokens, logits)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


def outlines_core_factory(tokenizer):
    """outlines-core's regex index over the byte-level vocabulary, applied as our processor applies masks."""
    import outlines_core as oc

    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, extra = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    byte_of = {chr(c): b for b, c in zip(bs, cs)}
    hf = tokenizer._tokenizer
    vocab = {}
    for text, token in hf.get_vocab().items():
        if token in tokenizer.eos_token_ids or text in hf.all_special_tokens:
            continue
        data = bytes(byte_of[c] for c in text) if all(c in byte_of for c in text) else text.encode()
        vocab.setdefault(data, []).append(token)
    vocabulary = oc.Vocabulary(tokenizer.eos_token_id, vocab)
    size = len(hf)

    def make():
        guide = oc.Guide(oc.Index(oc.json_schema.build_regex_from_schema(json.dumps(SCHEMA)), vocabulary))
        words = np.zeros(((size + 31) // 32,), dtype=np.int32)
        state = {"started": False}

        def processor(tokens, logits):
            if state["started"] and not guide.is_finished():
                guide.advance(int(tokens[-1]), return_tokens=False)
            state["started"] = True
            guide.write_mask_into(words.ctypes.data, words.size, words.itemsize)
            allowed = np.unpackbits(words.view(np.uint8), bitorder="little")[: logits.shape[-1]]
            return mx.where(mx.array(allowed.astype(bool)), logits, -mx.inf)

        return processor

    return make


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "tiny-random")
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models", "make_random_model.py"), folder], check=True, capture_output=True)
        model, tokenizer = mlx_lm.load(folder)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "A person as JSON, please."}], add_generation_prompt=True, tokenize=True)
    variants = {"none": None, "llguidance": lambda: constrained_processors(tokenizer, {"response_format": {"type": "json_schema", "schema": SCHEMA}}, prompt)[0]}
    for name, factory in (("outlines-core", outlines_core_factory),):
        try:
            variants[name] = factory(tokenizer)
        except ImportError:
            print(f"{name}: not installed here, skipped", file=sys.stderr)
    try:
        import xgrammar  # noqa: F401

        print("xgrammar: importable, but not wired into this bench", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - xgrammar imports torch at import time
        print(f"xgrammar: cannot import ({type(error).__name__}: {str(error)[:80]})", file=sys.stderr)

    per_token = {name: [] for name in variants}
    processor_us = {name: [] for name in variants}
    setup_ms = {name: [] for name in variants}
    tokens = {}
    for _ in range(rounds + 1):  # the first round warms up and is dropped
        for name, factory in variants.items():
            start = time.perf_counter()
            processor = Timed(factory()) if factory else None
            setup = (time.perf_counter() - start) * 1000
            first = last_time = None
            count = 0
            for response in mlx_lm.stream_generate(model, tokenizer, prompt, max_tokens=200, logits_processors=[processor] if processor else None):
                last_time = time.perf_counter()
                first = first or last_time
                count = response.generation_tokens
            per_token[name].append((last_time - first) / max(count - 1, 1) * 1000)
            setup_ms[name].append(setup)
            tokens[name] = count
            if processor:
                processor_us[name].append(processor.seconds / processor.calls * 1e6)
    baseline = statistics.median(per_token["none"][1:])
    for name in variants:
        row = {
            "variant": name,
            "tokens": tokens[name],
            "ms_per_token": round(statistics.median(per_token[name][1:]), 3),
            "vs_none": round(statistics.median(per_token[name][1:]) / baseline, 2),
        }
        if processor_us[name]:
            row["processor_us_per_token"] = round(statistics.median(processor_us[name][1:]), 1)
            row["grammar_setup_ms"] = round(statistics.median(setup_ms[name][1:]), 2)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
