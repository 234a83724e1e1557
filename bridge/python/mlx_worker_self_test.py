"""`mlx_worker.py --self-test`: what `bridge doctor` asks of the Python it will use."""
import platform
import sys

from mlx_worker_errors import short_error
from mlx_worker_memory import device_backend, recommended_working_set


def self_test(channel):
    """What `bridge doctor` asks: can this Python import mlx and mlx-lm, which versions, Metal or CPU."""
    report = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    try:
        import mlx.core as mx

        report["mlx"] = {
            "ok": True,
            "version": getattr(mx, "__version__", "unknown"),
            "device": str(mx.default_device()),
            "backend": device_backend(mx),
            "recommended_working_set_bytes": recommended_working_set(mx),  # None on the CPU backend
        }
    except Exception as error:  # noqa: BLE001
        report["mlx"] = {"ok": False, "error": short_error(error)}
    try:
        import mlx_lm

        report["mlx_lm"] = {"ok": True, "version": getattr(mlx_lm, "__version__", "unknown")}
    except Exception as error:  # noqa: BLE001
        report["mlx_lm"] = {"ok": False, "error": short_error(error)}
    channel.emit("self_test", **report)
