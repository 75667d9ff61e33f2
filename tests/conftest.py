"""Shared fixtures: a recorded clip the suite makes itself, read back through the app's reader;
the example plugin installed as a user would install it."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from camfx.live.demo import DemoScene
from camfx.live.sources import VideoFile


# The suite's own data folder: models are read from here, never from the user's data folder.
# Put them here the way the README says (.ci/run does the same):
#     CAMFX_DATA_DIR=tests/.camfx-data camfx models fetch
TEST_DATA_DIR = Path(__file__).parent / ".camfx-data"
FETCH_FOR_TESTS = "CAMFX_DATA_DIR=tests/.camfx-data camfx models fetch"


def pytest_configure(config):
    """Keep the suite out of the user's own folders: camfx's cache (generated kernels, autotuner
    choices) goes to pytest's cache folder in this checkout, kept between runs so kernels
    compile once; the per-user config folder is an empty one there, and $CAMFX_CONFIG is
    unset, so no user's settings change what the tests see; and the data folder (models) is the
    suite's own. Subprocesses inherit them all."""
    if hasattr(config, "cache"):
        folder = config.cache.mkdir
    else:  # -p no:cacheprovider: folders of the run's own (kernels compile again)
        base = Path(tempfile.mkdtemp(prefix="camfx-tests-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)

        def folder(name):
            (base / name).mkdir()
            return base / name
    os.environ["CAMFX_CACHE_DIR"] = str(folder("camfx-cache"))
    user_config = str(folder("camfx-user-config"))
    os.environ["XDG_CONFIG_HOME"] = user_config  # platformdirs on Linux and macOS
    os.environ["WIN_PD_OVERRIDE_LOCAL_APPDATA"] = user_config  # and on Windows
    os.environ.pop("CAMFX_CONFIG", None)
    os.environ["CAMFX_DATA_DIR"] = str(TEST_DATA_DIR)


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """The suite itself keeps this machine busy; in-process tests see it as quiet, so that the
    autotuner remembers its choices as it does for a user (tests/test_autotune.py checks the
    busy case on its own)."""
    import camfx.engine.autotune
    monkeypatch.setattr(camfx.engine.autotune, "machine_busy", lambda: False)


@pytest.fixture(scope="session")
def models_fetched():
    """The suite's data folder, holding every model camfx knows. Without them the tests that
    need them are skipped, saying how to fetch them, unless CAMFX_REQUIRE_MODELS=1 (as on CI)
    makes that a failure."""
    from camfx import models
    missing = [name for name in models.MODELS if models.find(name).state != "ok"]
    if missing:
        message = f"models {', '.join(missing)} not in {TEST_DATA_DIR}; run: {FETCH_FOR_TESTS}"
        if os.environ.get("CAMFX_REQUIRE_MODELS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return TEST_DATA_DIR


CLIP_FRAMES = 36
CLIP_SIZE = (320, 240)


@pytest.fixture(scope="session")
def scene_frames():
    scene = DemoScene(*CLIP_SIZE)
    return [scene.frame(i * 3) for i in range(CLIP_FRAMES)]


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory, scene_frames):
    """A lossless (FFV1) recording of a moving, textured scene."""
    path = tmp_path_factory.mktemp("clip") / "scene.mkv"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30, CLIP_SIZE)
    assert writer.isOpened(), "OpenCV cannot write FFV1"
    for frame in scene_frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def recorded_frames(clip_path):
    """Frames of the recorded clip, read as `camfx live` and `camfx process` read a file (PyAV,
    through camfx.files.video.InputVideo)."""
    with VideoFile(clip_path) as video:
        return list(video)


@pytest.fixture(scope="session")
def sample_frames(recorded_frames):
    """A few recorded frames in the shapes filters must handle: BGR and gray, odd sizes,
    non-contiguous views."""
    bgr = recorded_frames[::9]
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in bgr]
    views = [bgr[0][1:, 3:], bgr[1][::2, 1::3], gray[2][5:-4:2, ::-1], bgr[3][:7, :5], gray[0][:1, :1]]
    return {"bgr": bgr, "gray": gray, "views": views}


def all_frames(sample_frames):
    return sample_frames["bgr"] + sample_frames["gray"] + sample_frames["views"]


def assert_close(actual, expected, tolerance=1):
    """Equal shape and dtype, and every pixel within ``tolerance``."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert diff.max(initial=0) <= tolerance, f"max difference {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"


EXAMPLE_PLUGIN = Path(__file__).resolve().parent.parent / "examples" / "camfx-tint"


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory):
    """A folder where pip installed the example plugin package from examples/ (with its entry
    point), as a third-party plugin is installed; put it on ``sys.path`` to use it."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(EXAMPLE_PLUGIN)], check=True)
    return target


def write_cube(path, size, mapping, domain=(0.0, 1.0), title="camfx test"):
    """Write a 3-D LUT in .cube format: ``mapping(r, g, b) -> (r, g, b)`` on arrays of inputs
    from ``domain``, sampled on a ``size``-point lattice (red fastest, then green, then blue)."""
    steps = np.linspace(domain[0], domain[1], size)
    b, g, r = np.meshgrid(steps, steps, steps, indexing="ij")
    rows = np.stack([np.ravel(c) for c in mapping(r, g, b)], axis=1)
    lines = [f'TITLE "{title}"', f"LUT_3D_SIZE {size}"]
    if tuple(domain) != (0.0, 1.0):
        lines += [f"DOMAIN_MIN {domain[0]} {domain[0]} {domain[0]}", f"DOMAIN_MAX {domain[1]} {domain[1]} {domain[1]}"]
    lines += ["# red changes fastest"] + [f"{x:.7f} {y:.7f} {z:.7f}" for x, y, z in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def curve(r, g, b):
    """A non-linear colour map for LUT tests: each channel bent its own way, the others mixed in."""
    return (np.clip(r * r * 0.9 + 0.1 * b, 0, 1), np.sqrt(g), np.clip(0.5 - 0.5 * np.cos(np.pi * b) + 0.05 * r, 0, 1))


@pytest.fixture(scope="session")
def cube_files(tmp_path_factory):
    """.cube files: the identity, a channel rotation (r, g, b -> g, b, r), a non-linear map at
    size 33, and the identity over the domain 0-2 (inputs read as half their value)."""
    folder = tmp_path_factory.mktemp("luts")
    return {
        "identity": write_cube(folder / "identity.cube", 17, lambda r, g, b: (r, g, b)),
        "rotation": write_cube(folder / "rotation.cube", 5, lambda r, g, b: (g, b, r)),
        "curve": write_cube(folder / "curve.cube", 33, curve),
        "domain": write_cube(folder / "domain.cube", 9, lambda r, g, b: (r, g, b), domain=(0.0, 2.0)),
    }
