"""Where camfx keeps what it learns between runs (generated kernels, autotuner choices), what
it fetched (models, in the data folder: unlike the cache, camfx cannot make it again) and where
it looks for the user's settings: each platform's own folders, as platformdirs knows them."""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import platformdirs

APP = "camfx"

_usable = {}       # cache folder -> whether it could be written (probed once per process)
_scratch = []      # the per-process folder used instead of an unwritable cache


def cache_dir():
    """``$CAMFX_CACHE_DIR``, else the platform's user cache folder for camfx: on Linux
    ``$XDG_CACHE_HOME/camfx`` or ``~/.cache/camfx``, on macOS ``~/Library/Caches/camfx``, on
    Windows ``%LOCALAPPDATA%\\camfx\\Cache``.

    Read on every call so tests can point it at a temporary folder.
    """
    explicit = os.environ.get("CAMFX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(_dirs().user_cache_dir)


def data_dir():
    """``$CAMFX_DATA_DIR``, else the platform's user data folder for camfx: on Linux
    ``$XDG_DATA_HOME/camfx`` or ``~/.local/share/camfx``, on macOS ``~/Library/Application
    Support/camfx``, on Windows ``%LOCALAPPDATA%\\camfx``. ``camfx models fetch`` stores models
    in ``models/`` there.

    Read on every call so tests can point it at a folder of their own.
    """
    explicit = os.environ.get("CAMFX_DATA_DIR")
    if explicit:
        return Path(explicit)
    return Path(_dirs().user_data_dir)


def user_config_path():
    """The per-user config file: on Linux ``$XDG_CONFIG_HOME/camfx/config.toml`` or
    ``~/.config/camfx/config.toml``, on macOS ``~/Library/Application Support/camfx/config.toml``,
    on Windows ``%LOCALAPPDATA%\\camfx\\config.toml``."""
    return Path(_dirs().user_config_dir) / "config.toml"


def _dirs():
    """platformdirs' folders for camfx on this platform (no vendor folder on Windows)."""
    return platformdirs.PlatformDirs(APP, appauthor=False)


def writable_cache_dir(stream=None):
    """The cache folder, created if needed, or None when it cannot be written (read-only,
    under a file, on a missing drive ...). The first time a folder fails, one warning goes to
    ``stream`` (default stderr); camfx then carries on without a cache."""
    folder = cache_dir()
    if folder not in _usable:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
                pass
            _usable[folder] = True
        except OSError as error:
            _usable[folder] = False
            reason = error.strerror or str(error)
            print(f"camfx: warning: cannot write the cache folder {folder} ({reason}); carrying on without "
                  "it: filters compile on every start and tuning is not remembered (set CAMFX_CACHE_DIR "
                  "to a writable folder)", file=stream or sys.stderr, flush=True)
    return folder if _usable[folder] else None


def scratch_dir():
    """A private folder for this process only, removed at exit: where generated kernels go when
    the cache folder cannot be written."""
    if not _scratch:
        folder = Path(tempfile.mkdtemp(prefix="camfx-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _scratch.append(folder)
    return _scratch[0]

