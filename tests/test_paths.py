"""Cache and config folders: each platform's own (platformdirs), CAMFX_CACHE_DIR first, and an
unwritable cache folder is a warning, not a failure."""
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

import camfx
from camfx import paths
from camfx.engine.autotune import autotune
from camfx.kernels import codegen


def test_the_suite_never_touches_the_users_own_folders(pytestconfig):
    import tempfile
    # pytest's cache folder in this checkout, or a temporary one under -p no:cacheprovider
    own = pytestconfig.rootpath / ".pytest_cache" if hasattr(pytestconfig, "cache") else Path(tempfile.gettempdir())
    assert paths.cache_dir().is_relative_to(own) and paths.cache_dir().name == "camfx-cache"
    assert paths.user_config_path().is_relative_to(own)
    assert "CAMFX_CONFIG" not in os.environ


@pytest.mark.parametrize("system, env, cache, config", [
    ("unix", {"XDG_CACHE_HOME": "/x/cache", "XDG_CONFIG_HOME": "/x/config"}, "/x/cache/camfx", "/x/config/camfx"),
    ("unix", {}, "~/.cache/camfx", "~/.config/camfx"),
    ("macos", {}, "~/Library/Caches/camfx", "~/Library/Application Support/camfx"),
    ("windows", {}, "C:/Users/me/AppData/Local/camfx/Cache", "C:/Users/me/AppData/Local/camfx"),
])
def test_folders_follow_each_platforms_convention(monkeypatch, system, env, cache, config):
    """platformdirs' class for each platform, with Windows' folder lookup (a Win32 call) doubled."""
    import importlib
    monkeypatch.delenv("CAMFX_CACHE_DIR")
    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "WIN_PD_OVERRIDE_LOCAL_APPDATA"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    module = importlib.import_module(f"platformdirs.{system}")
    if system == "windows":
        monkeypatch.setattr(module, "_RESOLVE_WIN_FOLDER", lambda csidl: "C:/Users/me/AppData/Local")
    monkeypatch.setattr(paths.platformdirs, "PlatformDirs", getattr(module, system.capitalize() if system != "macos" else "MacOS"))
    assert paths.cache_dir() == paths.Path(os.path.expanduser(cache))
    assert paths.user_config_path() == paths.Path(os.path.expanduser(config)) / "config.toml"
    monkeypatch.setenv("CAMFX_CACHE_DIR", "/elsewhere")
    assert paths.cache_dir() == paths.Path("/elsewhere")


def impossible_folders(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # Under a file; and under /proc, where not even root may create a folder.
    return [blocker / "cache", "/proc/camfx-cache"]


@pytest.fixture(params=["under-a-file", "under-proc"])
def unwritable_cache(request, tmp_path, monkeypatch):
    folder = impossible_folders(tmp_path)[request.param == "under-proc"]
    if request.param == "under-proc" and not os.path.isdir("/proc"):
        pytest.skip("no /proc here")
    monkeypatch.setenv("CAMFX_CACHE_DIR", str(folder))
    return folder


def test_an_unwritable_cache_warns_once_and_tuning_still_works(unwritable_cache, recorded_frames, capsys):
    for _ in range(2):
        chain = camfx.parse_chain("emboss")
        choice = autotune(chain, recorded_frames[0], runs=1)
        assert choice["timed"]  # nothing remembered: timed again
    err = capsys.readouterr().err
    assert err.count("cannot write the cache folder") == 1 and str(unwritable_cache) in err


def test_an_unwritable_cache_still_generates_kernels(unwritable_cache, capsys):
    source = codegen.direct_source([[0, 2], [1, 0]]) + f"\n# {unwritable_cache}\n"
    module = codegen.load(source)
    assert str(paths.scratch_dir()) in module.__file__
    frame = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(camfx.parse_chain("kernel(matrix=[[0, 2], [1, 0]])")(frame),
                                  camfx.convolve2d(frame, [[0, 2], [1, 0]]))


def test_live_and_process_carry_on_without_the_cache(tmp_path, clip_path):
    env = dict(os.environ, CAMFX_CACHE_DIR=str(impossible_folders(tmp_path)[0]))
    command = [sys.executable, "-m", "camfx"]
    live = subprocess.run([*command, "live", "--source", "demo", "--width", "160", "--height", "120",
                           "--headless", "--frames", "3", "--filters", "sharpen"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert live.returncode == 0, live.stderr
    assert live.stderr.count("cannot write the cache folder") == 1
    assert live.stdout.startswith("3 frames shown")
    out = tmp_path / "out.mp4"
    process = subprocess.run([*command, "process", str(clip_path), "-o", str(out), "--filters", "sharpen"],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert process.stderr.count("cannot write the cache folder") == 1 and "error" not in process.stderr
    with av.open(str(out)) as container:
        assert container.streams.video[0].frames == 36
