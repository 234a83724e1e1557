"""Errors and logging shared by the MLX worker's modules."""
import sys

_NOT_FOUND_ERRORS = {
    "RepositoryNotFoundError",
    "RevisionNotFoundError",
    "EntryNotFoundError",
    "LocalEntryNotFoundError",
    "HFValidationError",
    "GatedRepoError",
    "ModelNotFoundError",
}


def log(message):
    try:
        print(f"[mlx-worker] {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # stderr goes to the bridge: once it is gone, a log line must not kill the thread


class WorkerError(Exception):
    """A failure the bridge shows to the client: `code` is a tunnel error code, `param` the request
    field a `bad_request` is about."""

    def __init__(self, code, message, param=None):
        super().__init__(message)
        self.code = code
        self.param = param


def short_error(error):
    text = str(error).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"{type(error).__name__}: {first}"[:500]


def is_not_found(error):
    return any(cls.__name__ in _NOT_FOUND_ERRORS for cls in type(error).__mro__)
