"""Where camfx keeps things between runs: the cache (generated kernels, autotuner choices), which
camfx can always make again, and the data folder (downloaded models), which it cannot."""
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


def data_dir():
    """``$CAMFX_DATA_DIR``, else the platform's user data folder for camfx (platformdirs:
    ``~/.local/share/camfx`` or ``$XDG_DATA_HOME/camfx`` on Linux, ``~/Library/Application
    Support/camfx`` on macOS, ``%LOCALAPPDATA%\\camfx`` on Windows).

    Read on every call so tests can point it at a folder of their own.
    """
    explicit = os.environ.get("CAMFX_DATA_DIR")
    if explicit:
        return Path(explicit)
    import platformdirs
    return Path(platformdirs.user_data_dir("camfx", appauthor=False))
