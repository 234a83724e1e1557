"""Test double of `huggingface_hub.snapshot_download`, offline: a repo id resolves
to a folder of the built-in fake hub (tests/mlx_lm/hub) or of $MLX_DOUBLE_HUB,
both standing for the local Hugging Face cache; $MLX_DOUBLE_REMOTE_HUB stands for
the Hub itself (found only when downloading, never with `local_files_only`)."""
import os
import re
from pathlib import Path

from .errors import HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError

__version__ = "0.36.0+double"

_REPO_ID = re.compile(r"^[\w.\-]{1,96}(/[\w.\-]{1,96})?$")
_BUILTIN_HUB = Path(__file__).resolve().parent.parent / "hub"


def _dirs(variable):
    return [Path(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]


def _hub_dirs(local_files_only):
    cache = _dirs("MLX_DOUBLE_HUB") + [_BUILTIN_HUB]
    return cache if local_files_only else cache + _dirs("MLX_DOUBLE_REMOTE_HUB")


def snapshot_download(repo_id, revision=None, allow_patterns=None, local_files_only=False, **kwargs):
    if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise HFValidationError(
            "Repo id must use alphanumeric chars or '-', '_', '.', '--' and '..' are forbidden, "
            f"'-' and '.' cannot start or end the name, max length is 96: '{repo_id}'."
        )
    for hub in _hub_dirs(local_files_only):
        candidate = hub / repo_id
        if (candidate / "config.json").is_file():
            return str(candidate)
    if local_files_only:
        raise LocalEntryNotFoundError(
            "Cannot find an appropriate cached snapshot folder for the specified revision on the local disk "
            "and outgoing traffic has been disabled. To enable repo look-ups and downloads online, pass "
            "'local_files_only=False' as input."
        )
    raise RepositoryNotFoundError(
        f"404 Client Error. (Request ID: Root=1-double)\n\nRepository Not Found for url: "
        f"https://huggingface.co/api/models/{repo_id}/revision/{revision or 'main'}.\n"
        "Please make sure you specified the correct `repo_id` and `repo_type`.\n"
        "If you are trying to access a private or gated repo, make sure you are authenticated."
    )
