"""`mlx_worker.py --self-test`: what `bridge doctor` asks of the Python it will use."""
import platform

from mlx_worker_errors import short_error


def self_test(channel):
    """What `bridge doctor` asks: can this Python import mlx and mlx-lm, and which versions."""
    report = {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine()}
    try:
        import mlx.core as mx

        report["mlx"] = {"ok": True, "version": getattr(mx, "__version__", "unknown")}
        try:
            info = mx.device_info()
            report["mlx"]["recommended_working_set_bytes"] = int(info["max_recommended_working_set_size"])
        except Exception as error:  # noqa: BLE001
            report["mlx"]["device_error"] = short_error(error)
    except Exception as error:  # noqa: BLE001
        report["mlx"] = {"ok": False, "error": short_error(error)}
    try:
        import mlx_lm

        report["mlx_lm"] = {"ok": True, "version": getattr(mlx_lm, "__version__", "unknown")}
    except Exception as error:  # noqa: BLE001
        report["mlx_lm"] = {"ok": False, "error": short_error(error)}
    channel.emit("self_test", **report)
