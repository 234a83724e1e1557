"""A small byte-level BPE tokenizer (the `tokenizers` library) and its tokenizer_config.json.

Byte-level BPE as Qwen and Llama 3 use, so any text encodes (no unknown token) and mlx-lm picks its
BPEStreamingDetokenizer. ChatML markers are special tokens; the think and tool markers are added,
non-special tokens, as in Qwen3: single tokens that mlx-lm finds in the vocabulary, and that stay in
decoded text."""

import json
import re
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers.utils.chat_template_utils import render_jinja_template

VOCAB_SIZE = 512
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKER_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"


def render_text(case, chat_template: str) -> str:
    """The prompt and completion of a case as one text, rendered by transformers' own Jinja setup."""
    rendered, _ = render_jinja_template(
        conversations=[case.messages], chat_template=chat_template, **case.template_kwargs()
    )
    return rendered[0] + case.completion + EOS_TOKEN


def train_tokenizer(texts: list) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    # One digit per token (as Qwen2 does), so the counting answer is long and regular.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS + MARKER_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # The markers are tokens of their own, so the merges are learnt from the text between them.
    markers = re.compile("|".join(re.escape(token) for token in SPECIAL_TOKENS + MARKER_TOKENS))
    pieces = [piece for text in texts for piece in markers.split(text) if piece]
    tokenizer.train_from_iterator(sorted(pieces), trainer=trainer)
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    tokenizer.add_tokens(MARKER_TOKENS)
    return tokenizer


def tokenizer_config(tokenizer: Tokenizer, chat_template: str) -> dict:
    added = {}
    for token in SPECIAL_TOKENS + MARKER_TOKENS:
        added[str(tokenizer.token_to_id(token))] = {
            "content": token,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": token in SPECIAL_TOKENS,
        }
    return {
        "added_tokens_decoder": added,
        "bos_token": None,
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS_TOKEN,
        "errors": "replace",
        "model_max_length": 2048,
        "pad_token": PAD_TOKEN,
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def write_tokenizer(tokenizer: Tokenizer, chat_template: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = tokenizer_config(tokenizer, chat_template)
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    special = {"eos_token": EOS_TOKEN, "pad_token": PAD_TOKEN, "additional_special_tokens": SPECIAL_TOKENS[1:]}
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")
