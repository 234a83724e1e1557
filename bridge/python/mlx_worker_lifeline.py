"""Why the MLX worker never outlives its bridge.

Three signs say the bridge is gone, and each one starts the worker's shutdown
(unload, free MLX memory, exit): stdin reaches EOF (the main thread reads it), a
protocol write fails (mlx_worker_channel.py), or the parent process is gone,
watched here for the case where something else still holds our stdin open.
A generation thread wedged in a library call cannot unload; `arm_exit_timer`
makes sure the process goes anyway.
"""
import os
import threading
import time

from mlx_worker_errors import log


def parent_is_gone(parent_pid, first_ppid):
    """True once we were re-parented, or the bridge's pid (when given) no longer exists."""
    if os.getppid() != first_ppid:
        return True
    if parent_pid is None:
        return False
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, just not ours to signal
    return False


def watch_parent(parent_pid, on_gone, interval_sec):
    """Starts a daemon thread that calls `on_gone` once when the parent is gone."""
    first_ppid = os.getppid()

    def loop():
        while not parent_is_gone(parent_pid, first_ppid):
            time.sleep(interval_sec)
        log("the bridge process is gone; shutting down")
        on_gone()

    threading.Thread(target=loop, name="lifeline", daemon=True).start()


def arm_exit_timer(grace_sec, exit_code=1):
    """Exits the process after `grace_sec`, whatever the other threads are doing."""

    def force_exit():
        log(f"no orderly shutdown within {grace_sec} s; exiting without unloading")
        os._exit(exit_code)

    timer = threading.Timer(grace_sec, force_exit)
    timer.daemon = True
    timer.start()
    return timer
