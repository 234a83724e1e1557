"""Shared plumbing of the double: the call log and the environment knobs."""
import json
import os
import threading

_log_lock = threading.Lock()


def record(call, **fields):
    """Appends one JSON line to $MLX_DOUBLE_LOG so tests can see what reached the library."""
    path = os.environ.get("MLX_DOUBLE_LOG")
    if not path:
        return
    line = json.dumps({"call": call, **fields}, default=repr)
    with _log_lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def env_float(name, default=0.0):
    value = os.environ.get(name)
    return float(value) if value else default


def env_int(name):
    value = os.environ.get(name)
    return int(value) if value else None
