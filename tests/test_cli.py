import io
import subprocess
import sys

import pytest

from camfx import parse_chain
from camfx.text import chain_label, plural


def camfx(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "camfx", *args], capture_output=True, text=True, cwd=cwd)


def test_filters_lists_every_filter_with_parameters_and_origin(tmp_path):
    (tmp_path / "config.toml").write_text('[kernels.outline]\nmatrix = [[0, 1], [1, 0]]\n'
                                          '[plugins]\nghost = "nowhere.py:Ghost"\n')
    result = camfx("filters", cwd=tmp_path)
    out = result.stdout
    assert "blur         ksize: int = 5, sigma: float = 0.0" in out
    assert "kernel       matrix: list = required, scale: float = 1.0, offset: float = 0.0" in out
    assert "from camfx_filters.edge:Edge (camfx" in out
    assert "outline      scale: float = 1.0, offset: float = 0.0" in out
    assert "ghost        FAILED: plugin 'ghost' from nowhere.py:Ghost" in out
    assert result.returncode == 1  # a broken plugin is reported, and the listing still completes


def test_filters_are_listed_in_groups():
    from camfx.app.filters import GROUPS
    result = camfx("filters")
    assert result.returncode == 0
    headings = [line[:-1] for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert headings == list(GROUPS)  # every built-in has one of the five groups; they come in order
    sections = dict(zip(headings, result.stdout.split("\n\n")))
    expected = {"blur and sharpen": ["blur", "box", "sharpen", "unsharp", "motion_blur", "median", "bilateral"],
                "edges": ["edge", "laplacian", "scharr", "prewitt"],
                "colour": ["gray", "invert", "adjust", "gamma", "sepia", "lut"],
                "stylise": ["emboss", "flip", "vignette", "pixelate", "posterize", "cartoon", "kernel"],
                "composite": ["chroma_key"]}
    for group, names in expected.items():
        listed = [line.split()[0] for line in sections[group].splitlines()[1:] if line.startswith("  ") and line[2] != " "]
        assert set(names) <= set(listed), group


def test_bad_config_is_one_line_and_a_non_zero_exit(tmp_path):
    (tmp_path / "bad.toml").write_text("[capture]\nwidht = 3\n")
    result = camfx("filters", "--config", str(tmp_path / "bad.toml"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown key 'capture.widht'" in result.stderr and "Traceback" not in result.stderr


def test_bench_prints_camfx_opencv_and_their_ratio_as_json():
    import json
    result = camfx("bench", "--size", "720p", "--repeat", "5", "--filters", "emboss, box(ksize=3)",
                   "--chain", "emboss,edge", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["size"] == "720p" and report["shape"] == [720, 1280, 3] and report["copy_ms"] > 0
    names = [row["name"] for row in report["rows"]]
    assert names == ["emboss()", "box(ksize=3)", "chain emboss,edge"]
    for row in report["rows"]:
        assert row["camfx_ms"] > 0 and row["opencv_ms"] > 0
        assert row["ratio"] == row["camfx_ms"] / row["opencv_ms"]
        assert row["camfx_p10_ms"] <= row["camfx_ms"] <= row["camfx_p90_ms"]
    assert report["geomean_ratio"] > 0


def test_bench_times_the_choice_afresh_over_a_remembered_one(tmp_path):
    """A remembered choice may have been timed on a busy machine; bench times its own."""
    import json
    import os

    import numba
    from camfx.engine.autotune import choice_key
    # emboss's generic variant reads its weights from an array: several times slower than the
    # direct one, so timing never picks it; remembered, it would be used as it is.
    key = choice_key(parse_chain("emboss"), (480, 640, 3), numba.get_num_threads())
    (tmp_path / "autotune.json").write_text(json.dumps({key: {"steps": [{"variant": "generic", "threads": 1}],
                                                              "seconds": [0.001]}}))
    result = subprocess.run([sys.executable, "-m", "camfx", "bench", "--size", "480p", "--repeat", "5",
                             "--filters", "emboss", "--chain", "", "--json"],
                            capture_output=True, text=True, env={**os.environ, "CAMFX_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["rows"]
    assert row["variants"] == ["direct"]


def test_bench_table_names_the_memory_floor():
    result = camfx("bench", "--size", "720p", "--repeat", "5", "--filters", f"sharpen,kernel(matrix={[[1] * 7] * 7})",
                   "--chain", "", "--no-tune")
    assert result.returncode == 0, result.stderr
    assert "| `sharpen()` |" in result.stdout and "memory floor: `np.copyto`" in result.stdout
    assert "| `kernel(matrix=[[1.0, 1.0, 1.0, ...], ...] (7x7), scale=1.0, offset=0.0)` |" in result.stdout


def test_warmup_compiles_the_chain_and_says_ready():
    result = camfx("warmup", "--filters", "emboss,edge")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "camfx: ready (emboss(),edge())"


def test_version_is_the_packages():
    import camfx as package
    result = camfx("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"camfx {package.__version__}"
    import tomllib
    from pathlib import Path
    with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as f:
        assert tomllib.load(f)["project"]["version"] == package.__version__


def test_python_dash_m_camfx_is_the_camfx_command():
    result = subprocess.run([sys.executable, "-m", "camfx", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("filters", "live", "process", "bench", "config", "warmup"):
        assert command in result.stdout


def test_a_demo_size_that_cannot_fit_in_memory_is_one_line():
    result = camfx("live", "--source", "demo", "--width", "100000", "--height", "100000", "--headless", "--frames", "1")
    assert result.returncode == 2
    assert result.stderr.startswith("camfx: error: demo scene 100000x100000: needs about 2533 GiB")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("spec, message", [
    ("blurr", r"unknown filter 'blurr' \(did you mean 'blur'\?\); available: adjust, background, bilateral, blur, box, "),
    ("embos,edge", r"unknown filter 'embos' \(did you mean 'emboss'\?\)"),
    ("blur(ksze=3)", r"blur has no parameter 'ksze' \(did you mean 'ksize'\?\); its parameters: ksize, sigma"),
    ("zebra", r"unknown filter 'zebra'; available"),  # nothing close: no guess
])
def test_a_near_miss_gets_a_suggestion(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_chain(spec)


def test_counts_of_one_are_singular(tmp_path):
    from camfx.files.progress import Progress
    from camfx.live.stats import LiveStats
    stats = LiveStats(clock=iter([0.0, 0.5, 1.0, 1.0]).__next__)
    stats.record(0.01, 0.02)
    assert stats.summary(0).startswith("1 frame shown, 0 dropped")
    progress = Progress("x", stream=io.StringIO(), tty=False, total=1)
    progress.count = 1
    assert progress._done() == "1/1 frame (100%)"
    assert plural(0, "frame") == "0 frames" and plural(2, "file") == "2 files"


def test_long_kernel_matrices_are_shortened_in_banners_and_tables():
    long = parse_chain("kernel(matrix=[[1] * 9] * 9, scale=0.5)".replace("[[1] * 9] * 9", str([[1] * 9] * 9)))
    assert chain_label(long) == "kernel(matrix=[[1.0, 1.0, 1.0, ...], ...] (9x9), scale=0.5, offset=0.0)"
    short = parse_chain("kernel(matrix=[[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),blur")
    assert chain_label(short) == repr(short)  # short values are left whole
    assert repr(long).count("1.0") == 81  # the exact form stays for keys


def test_filters_listing_has_no_restructuredtext_markup():
    result = camfx("filters")
    assert result.returncode == 0
    assert "cv2.GaussianBlur(frame, (ksize, ksize), sigma)" in result.stdout
    assert "``" not in result.stdout and ":func:" not in result.stdout


def test_a_reader_that_goes_away_is_not_an_error():
    """`camfx filters | head -1`: the pipe closes before camfx is done writing."""
    child = subprocess.Popen([sys.executable, "-m", "camfx", "filters"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()
    with child.stderr:
        error = child.stderr.read().decode()
    assert child.wait() == 141 and error == ""


@pytest.mark.parametrize("args, message", [
    (["--repeat", "0"], "--repeat must be at least 1, got 0"),
    (["--repeat", "-3"], "--repeat must be at least 1, got -3"),
    (["--filters", "", "--chain", ""], "nothing to time"),
])
def test_bench_refuses_what_it_cannot_time_in_one_line(args, message):
    result = camfx("bench", "--size", "720p", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"camfx: error: {message}") and result.stderr.count("\n") == 1


def test_bench_times_at_least_the_runs_asked_for_and_says_how_many():
    import json
    result = camfx("bench", "--size", "720p", "--repeat", "7", "--filters", "", "--chain", "edge", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["repeat"] == 10 and [row["name"] for row in report["rows"]] == ["chain edge"]
