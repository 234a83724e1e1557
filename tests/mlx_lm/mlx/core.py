"""Test double of `mlx.core`: the memory and random calls the MLX worker uses.

Active memory is the sum of the weight bytes of double models alive in this
process; freeing a model moves its bytes to the cache until `clear_cache()`,
which is how MLX's buffer pool behaves.
"""
import os
import threading
import types
import weakref

from mlx._double import record

__version__ = "0.31.1-double"

_lock = threading.Lock()
_active = 0
_peak = 0
_cache = 0


def _allocate(owner, nbytes):
    """Accounts `nbytes` to `owner` until it is garbage collected."""
    global _active, _peak
    with _lock:
        _active += nbytes
        _peak = max(_peak, _active)
    weakref.finalize(owner, _free, nbytes)


def _free(nbytes):
    global _active, _cache
    with _lock:
        _active -= nbytes
        _cache += nbytes


def get_active_memory():
    return _active


def get_peak_memory():
    return _peak


def reset_peak_memory():
    global _peak
    _peak = _active


def get_cache_memory():
    return _cache


def clear_cache():
    global _cache
    record("clear_cache")
    with _lock:
        _cache = 0


def set_wired_limit(limit):
    return 0


def device_info():
    working_set = int(os.environ.get("MLX_DOUBLE_WORKING_SET", str(16 * 1024**3)))
    return {
        "architecture": "double",
        "device_name": "mlx_lm test double",
        "memory_size": working_set * 4 // 3,
        "max_recommended_working_set_size": working_set,
        "max_buffer_length": working_set // 2,
    }


def default_device():
    return "gpu"


def _seed(value):
    record("seed", seed=value)


random = types.SimpleNamespace(seed=_seed)


class array(list):
    """Just enough of `mx.array` for `prompt.size`."""

    @property
    def size(self):
        return len(self)
