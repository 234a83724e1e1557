"""The MLX worker's protocol stream to the bridge, and what happens when it breaks.

A write to a bridge that is gone raises BrokenPipeError (EPIPE). That must never
kill the thread that wrote (the generation or heartbeat thread): the worker would
live on with the model's memory and nobody to serve. So a failed write marks the
channel lost, calls `on_lost` once, and every later emit is a quiet no-op.
"""
import json
import os
import threading


class Channel:
    """The protocol stream: whole lines, written under a lock from any thread."""

    def __init__(self, fd):
        self._out = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self._lock = threading.Lock()
        self._lost = False
        # Set by the worker: called once, from the thread whose write failed.
        self.on_lost = None

    def emit(self, event, **fields):
        """Writes one event line; False when the bridge can no longer be reached."""
        line = json.dumps({"event": event, **fields}, allow_nan=False, default=str)
        with self._lock:
            if self._lost:
                return False
            try:
                self._out.write(line + "\n")
                self._out.flush()
                return True
            except (OSError, ValueError):  # EPIPE, or the stream closed under us
                self._lost = True
        silence_output()
        if self.on_lost is not None:
            self.on_lost()
        return False


def silence_output():
    """Points fds 1 and 2 at /dev/null: with the bridge gone, a library print or a log
    line to the broken stderr pipe would raise in whichever thread wrote it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
