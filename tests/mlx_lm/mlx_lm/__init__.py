"""Test double of mlx-lm (see tests/mlx_lm/README.md). Stands in for Apple hardware only."""
import os

from ._version import __version__

# Real libraries print on import; the worker must keep this off its protocol channel.
print("mlx_lm double imported")
os.write(1, b"mlx_lm double: a raw write to fd 1\n")

from .generate import generate, stream_generate  # noqa: E402
from .utils import load  # noqa: E402

__all__ = ["__version__", "generate", "stream_generate", "load"]
