"""camfx explain: the article's three panels, in text and as a PNG, and any kernel filter's
passes on a real picture."""
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from camfx.app import explain
from camfx.app.cli import main
from camfx.live.demo import DemoScene


def blocks(line):
    """The side-by-side text blocks of one output line."""
    return [b for b in re.split(r" {3,}", line.strip()) if b]


def numbers(block):
    return [float(v) for v in block.split()]


def test_the_seed_example_as_text(capsys):
    assert main(["explain", "--text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert blocks(lines[0]) == ["Input Matrix", "Kernel", "Convolution Result"]
    rows = [blocks(line) for line in lines[1:4]]
    assert [numbers(r[0]) for r in rows] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [numbers(r[1]) for r in rows[:2]] == [[0, 1], [1, 0]]
    assert [numbers(r[2]) for r in rows[:2]] == [[6, 8], [12, 14]]
    assert len(rows[2]) == 1  # the input's third row stands alone


def test_the_seed_figure_has_three_panels_with_the_values_drawn():
    figure = explain.draw(explain.seed_rows())
    assert [a.get_title() for a in figure.axes] == ["Input Matrix", "Kernel", "Convolution Result"]
    drawn = [[t.get_text() for t in a.texts] for a in figure.axes]
    assert drawn == [["1", "2", "3", "4", "5", "6", "7", "8", "9"], ["0", "1", "1", "0"], ["6", "8", "12", "14"]]
    shades = [a.images[0].get_array() for a in figure.axes]
    np.testing.assert_array_equal(shades[2], [[6, 8], [12, 14]])  # each cell shaded by its value


def test_the_png_is_written_and_not_blank(tmp_path, capsys):
    path = tmp_path / "figure.png"
    assert main(["explain", "-o", str(path)]) == 0
    assert f"camfx: wrote {path}" in capsys.readouterr().out
    picture = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert picture is not None and picture.shape[0] > 100 and picture.shape[1] > 300
    assert (picture < 40).mean() > 0.05 and (picture > 215).mean() > 0.2  # black cells and white paper
    # Three panels side by side: three runs of columns holding the panels' dark frames.
    dark_columns = (picture < 100).sum(axis=0) > picture.shape[0] * 0.2
    starts = np.flatnonzero(np.diff(dark_columns.astype(int)) == 1)
    assert len(starts) >= 3


def test_the_default_output_is_camfx_explain_png(tmp_path):
    result = subprocess.run([sys.executable, "-m", "camfx", "explain"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "camfx-explain.png").stat().st_size > 1000


def test_a_kernel_filter_on_a_picture_of_the_seed_matrix_gives_the_seed_numbers(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "seed.png"), np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.uint8))
    assert main(["explain", "kernel(matrix=[[0, 1], [1, 0]])", "--image", str(tmp_path / "seed.png"),
                 "--at", "2,2", "--size", "2", "--text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines.index("kernel")
    rows = [blocks(line) for line in lines[header + 2:header + 5]]
    assert [numbers(r[0]) for r in rows] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [numbers(r[2]) for r in rows[:2]] == [[6, 8], [12, 14]]
    output = lines.index(next(line for line in lines if line.startswith("kernel's output")))
    assert [numbers(blocks(line)[0]) for line in lines[output + 2:output + 4]] == [[6, 8], [12, 14]]


def test_a_separable_filter_shows_both_passes_and_its_real_output(capsys):
    assert main(["explain", "blur(ksize=3)", "--at", "100,60", "--size", "3", "--text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "vertical pass" in lines and "horizontal pass" in lines
    vertical = lines.index("vertical pass")
    assert blocks(lines[vertical + 1])[1] == "Kernel x 1/256"
    assert [numbers(blocks(line)[1]) for line in lines[vertical + 2:vertical + 5]] == [[64], [128], [64]]
    horizontal = lines.index("horizontal pass")
    assert numbers(blocks(lines[horizontal + 2])[1]) == [64, 128, 64]
    output = next(i for i, line in enumerate(lines) if line.startswith("blur's output"))
    got = [numbers(blocks(line)[0]) for line in lines[output + 2:output + 5]]
    gray = cv2.cvtColor(DemoScene(640, 480).frame(0), cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(got, cv2.GaussianBlur(gray, (3, 3), 0)[59:62, 99:102])


def test_gradient_filters_show_both_gradients(capsys):
    assert main(["explain", "scharr", "--size", "3", "--text"]) == 0
    out = capsys.readouterr().out
    assert "x gradient" in out and "y gradient" in out and "gradient magnitude" in out
    assert "-10" in out and "10" in out


def test_filters_that_are_not_convolutions_say_so(capsys):
    assert main(["explain", "median"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("camfx: error: median has no kernel: it is not a convolution") and err.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["blur", "--at", "5"], "--at must be X,Y"),
    (["blur", "--at", "9999,1"], "outside the 640x480 picture"),
    (["blur", "--size", "40"], "--size must be from 1 to 15"),
    (["blur", "--image", "nowhere.png"], "--image nowhere.png: no such picture"),
    (["blur,edge"], "one filter at a time"),
])
def test_bad_options_are_one_line(capsys, args, message):
    assert main(["explain", *args, "--text"]) == 2
    assert message in capsys.readouterr().err


def test_without_matplotlib_the_text_still_works_and_the_png_says_how_to_get_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["explain", "--text"]) == 0
    assert "Convolution Result" in capsys.readouterr().out
    assert main(["explain", "-o", str(tmp_path / "x.png")]) == 2
    captured = capsys.readouterr()
    assert "12 14" in captured.out  # the text came first
    assert captured.err == 'camfx: error: drawing the figure needs matplotlib: pip install "camfx[plot]" (or use --text)\n'
    assert not (tmp_path / "x.png").exists()
