import subprocess
import sys


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


def test_bench_table_names_the_memory_floor():
    result = camfx("bench", "--size", "720p", "--repeat", "5", "--filters", "sharpen", "--chain", "", "--no-tune")
    assert result.returncode == 0, result.stderr
    assert "| `sharpen()` |" in result.stdout and "memory floor: `np.copyto`" in result.stdout


def test_warmup_compiles_the_chain_and_says_ready():
    result = camfx("warmup", "--filters", "emboss,edge")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "camfx: ready (emboss(),edge())"
