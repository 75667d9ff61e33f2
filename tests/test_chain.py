import cv2
import numpy as np
import pytest

import camfx
from camfx.chain import parse_spec
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
    ("blurr", "unknown filter 'blurr'; available: .*blur.*box.*edge"),
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
