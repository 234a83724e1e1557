"""A model with the tiny chat model's shape, tokenizer and template but fresh random weights, for
the constrained-decoding tests: it was never trained on anything, so whatever structure its answer
has comes from the grammar. Deterministic for one seed (mlx's generator), made in seconds.

    python tests/models/make_random_model.py OUT_DIR [--seed N]
"""
import argparse
import shutil
from pathlib import Path

import mlx.core as mx
from mlx.utils import tree_map
from mlx_lm import load
from mlx_lm.utils import save_model

TINY_CHAT = Path(__file__).resolve().parent / "tiny-chat"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = Path(args.out)
    shutil.copytree(TINY_CHAT, out, ignore=shutil.ignore_patterns("model*.safetensors*"), dirs_exist_ok=True)
    model, _ = load(str(TINY_CHAT))
    mx.random.seed(args.seed)
    # Wide enough a spread that the logits are far from uniform: a random model with opinions.
    model.update(tree_map(lambda p: mx.random.normal(p.shape, dtype=p.dtype) * 0.5, model.parameters()))
    save_model(out, model)
    print(out)


if __name__ == "__main__":
    main()
