"""Where camfx keeps what it learns between runs: generated kernels and autotuner choices."""
import os
from pathlib import Path


def cache_dir():
    """``$CAMFX_CACHE_DIR``, else ``$XDG_CACHE_HOME/camfx``, else ``~/.cache/camfx``.

    Read on every call so tests can point it at a temporary folder.
    """
    explicit = os.environ.get("CAMFX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "camfx"
