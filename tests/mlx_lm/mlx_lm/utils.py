"""Test double of `mlx_lm.utils.load` and its download helpers."""
import json
import os
import time
from pathlib import Path

import mlx.core as mx
from huggingface_hub import snapshot_download
from mlx._double import record

from .tokenizer_utils import TokenizerWrapper

DEFAULT_ALLOW_PATTERNS = ["*.json", "model*.safetensors", "*.py", "tokenizer.model", "*.txt", "*.jinja"]


class DoubleModel:
    """Holds the weights' byte count in the double's mx memory accounting."""

    def __init__(self, path, config):
        self.path = path
        self.config = config
        self.settings = config.get("double", {})
        self.nbytes = sum(f.stat().st_size for f in path.glob("*.safetensors"))
        mx._allocate(self, self.nbytes)


def _download(path_or_hf_repo, revision=None, allow_patterns=None):
    model_path = Path(path_or_hf_repo)
    if not model_path.exists():
        model_path = Path(snapshot_download(path_or_hf_repo, revision=revision, allow_patterns=allow_patterns))
    return model_path


def hf_repo_to_path(hf_repo):
    return Path(snapshot_download(hf_repo, local_files_only=True, allow_patterns=DEFAULT_ALLOW_PATTERNS))


def load(
    path_or_hf_repo,
    tokenizer_config=None,
    model_config=None,
    adapter_path=None,
    lazy=False,
    return_config=False,
    revision=None,
    trust_remote_code=False,
):
    record("load", path_or_hf_repo=str(path_or_hf_repo))
    model_path = _download(path_or_hf_repo, revision=revision)
    config_file = model_path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"No config.json found in {model_path}")
    config = json.loads(config_file.read_text())
    settings = config.get("double", {})
    print(f"Fetching {len(list(model_path.iterdir()))} files: 100%|##########|")
    # A slow load (a first Hub download): per model in config.json, or for every model from the env.
    load_delay_ms = settings.get("load_delay_ms") or float(os.environ.get("MLX_DOUBLE_LOAD_DELAY_MS") or 0)
    if load_delay_ms:
        time.sleep(load_delay_ms / 1000)
    if settings.get("load_error"):
        raise ValueError(settings["load_error"])
    model = DoubleModel(model_path, config)
    tokenizer = TokenizerWrapper(chat_template=settings.get("chat_template", True))
    if return_config:
        return model, tokenizer, config
    return model, tokenizer
