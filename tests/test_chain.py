import cv2
import numpy as np
import pytest

import camfx
from camfx.engine.chain import parse_spec
from conftest import assert_close


EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)


def opencv_chain(frame):
    """blur(ksize=9), emboss, edge done with OpenCV."""
    step = cv2.filter2D(cv2.GaussianBlur(frame, (9, 9), 0), -1, EMBOSS)
    gray = cv2.cvtColor(step, cv2.COLOR_BGR2GRAY)
    magnitude = cv2.convertScaleAbs(cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0),
                                                  cv2.Sobel(gray, cv2.CV_32F, 0, 1)))
    return cv2.merge([magnitude] * 3)


def test_parse_chain_applies_filters_in_order(recorded_frames):
    chain = camfx.parse_chain("blur(ksize=9),emboss,edge")
    assert [f.name for f in chain] == ["blur", "emboss", "edge"]
    for frame in recorded_frames[::6]:
        assert_close(chain(frame), opencv_chain(frame))


def test_parameters_are_python_literals():
    steps = parse_spec("kernel(matrix=[[0, 1], [1, 0]], scale=0.5, offset=-2), blur(ksize=3, sigma=1.5)")
    assert steps == [("kernel", {"matrix": [[0, 1], [1, 0]], "scale": 0.5, "offset": -2}),
                     ("blur", {"ksize": 3, "sigma": 1.5})]


def test_config_style_steps_and_strings_mean_the_same():
    assert parse_spec([{"name": "blur", "ksize": 9}, "emboss, edge"]) == parse_spec("blur(ksize=9),emboss,edge")


def test_toggling_a_filter_skips_it(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    frame = recorded_frames[0]
    assert chain.toggle(1) is False
    np.testing.assert_array_equal(chain(frame), chain.filters[0](frame))
    assert chain.toggle(1) is True


def test_timings_are_reported_per_filter(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    timings = []
    chain(recorded_frames[0], timings=timings)
    assert len(timings) == 2 and all(t > 0 for t in timings)


def test_empty_spec_is_the_identity(recorded_frames):
    assert camfx.parse_chain("")(recorded_frames[0]) is recorded_frames[0]


@pytest.mark.parametrize("spec, message", [
    ("blurr", r"unknown filter 'blurr' \(did you mean 'blur'\?\); available: .*blur.*box.*edge"),
    ("blur(ksize=4)", "blur: ksize must be an odd positive integer, got 4"),
    ("blur(ksize=0)", "ksize must be an odd positive integer, got 0"),
    ("blur(radius=3)", "blur has no parameter 'radius'"),
    ("blur(ksize=5", "malformed filter chain"),
    ("blur(5)", "parameters must be given by name"),
    ("blur(ksize=n)", "is not a literal"),
    ("edge + emboss", "malformed filter"),
    ("blur(**{'ksize': 3})", r"'\*\*' is not allowed"),
])
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        camfx.parse_chain(spec)


@pytest.mark.parametrize("frame, message", [
    (np.zeros((4, 4, 3), np.float64), "dtype must be uint8"),
    (np.zeros(16, np.uint8), "gray"),
])
def test_chain_refuses_bad_frames(frame, message):
    with pytest.raises(ValueError, match=message):
        camfx.parse_chain("edge")(frame)


def test_chain_writes_into_out_and_reuses_its_buffers(recorded_frames):
    import tracemalloc
    chain = camfx.parse_chain("blur(ksize=9),emboss,edge")
    frame = recorded_frames[0]
    out = np.empty_like(frame)
    assert chain(frame, out=out) is out
    assert_close(out, opencv_chain(frame))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        chain(recorded_frames[1], out=out)
        allocated = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert allocated < frame.nbytes // 4, f"a second frame of the same shape allocated {allocated} bytes"
    assert_close(out, opencv_chain(recorded_frames[1]))


def test_chain_without_out_returns_a_new_array_each_time(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    first = chain(recorded_frames[0])
    second = chain(recorded_frames[1])
    assert first is not second and not np.shares_memory(first, second)


def test_toggled_off_last_step_still_fills_out(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    chain.toggle(1)
    out = np.empty_like(recorded_frames[0])
    assert chain(recorded_frames[0], out=out) is out
    np.testing.assert_array_equal(out, chain.filters[0](recorded_frames[0]))
    chain.toggle(0)
    np.testing.assert_array_equal(chain(recorded_frames[0], out=out), recorded_frames[0])


def test_a_cold_start_says_it_is_compiling(monkeypatch, capsys, recorded_frames):
    import camfx.kernels.codegen
    monkeypatch.setattr(camfx.kernels.codegen, "is_cached", lambda dispatcher: False)
    chain = camfx.parse_chain("blur, edge")
    chain(recorded_frames[0])
    err = capsys.readouterr().err
    assert err.startswith("camfx: compiling filters (first run, ~") and err.count("\n") == 1
    chain(recorded_frames[1])
    assert capsys.readouterr().err == ""  # once per frame shape, not per frame


@pytest.mark.parametrize("spec", ["shrink", "shrink, emboss", "emboss, shrink"])
def test_a_filter_that_changes_the_shape_is_named(spec):
    from camfx.errors import CamfxError
    from camfx.engine.filter import Filter
    from camfx.engine.registry import Plugin, Registry

    class Shrink(Filter):
        name = "shrink"

        def apply(self, frame):
            return frame[1:]

    registry = Registry([Plugin("shrink", "test", lambda: Shrink), *Registry.discover()._plugins.values()])
    chain = camfx.parse_chain(spec, registry)
    with pytest.raises(CamfxError, match=r"shrink turned a \(6, 5, 3\) frame into \(5, 5, 3\) uint8"):
        chain(np.zeros((6, 5, 3), np.uint8))
