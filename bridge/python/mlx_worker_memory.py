"""Memory arithmetic for the MLX worker's admission control: weights on disk and
an fp16 KV-cache estimate, compared with MLX's recommended working set."""
import json
from pathlib import Path


def gigabytes(nbytes):
    return f"{nbytes / 1e9:.1f} GB"


def weights_bytes(path):
    try:
        return sum(f.stat().st_size for f in Path(path).glob("*.safetensors"))
    except OSError:
        return 0


def kv_cache_bytes(path, context_length):
    """fp16 K and V for every layer: 2 * layers * kv_heads * head_dim * tokens * 2 bytes."""
    if not context_length:
        return 0
    try:
        config = json.loads((Path(path) / "config.json").read_text())
    except (OSError, ValueError):
        return 0
    config = config.get("text_config", config)
    layers = config.get("num_hidden_layers") or 0
    heads = config.get("num_attention_heads") or 0
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or ((config.get("hidden_size") or 0) // heads if heads else 0)
    return int(2 * layers * kv_heads * head_dim * int(context_length) * 2)


def device_backend(mx):
    """"metal" or "cpu": where MLX runs by default (mx.default_device()); the same worker runs on both."""
    try:
        return "metal" if "gpu" in str(mx.default_device()).lower() else "cpu"
    except Exception:  # noqa: BLE001 - a broken install: doctor reports the import itself
        return "unknown"


def recommended_working_set(mx):
    """MLX's recommended working set in bytes, or None where it has none. Only Metal has one: the CPU
    backend's device_info() gives just architecture and device name (mlx 0.32 on Linux), and older mlx
    raised without Metal (ml-explore/mlx-lm#238). No figure means no memory admission, not a failure."""
    try:
        value = mx.device_info().get("max_recommended_working_set_size")
    except Exception:  # noqa: BLE001 - see above
        return None
    return int(value) if value else None
