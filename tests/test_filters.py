import cv2
import numpy as np
import pytest

from camfx.engine.registry import Registry
from conftest import all_frames, assert_close

REGISTRY = Registry.discover()
BUILT_INS = ["blur", "box", "edge", "emboss", "kernel", "sharpen"]
DEFAULT_PARAMS = {"kernel": {"matrix": [[0, 1], [1, 0]]}}


def opencv_edge(frame):
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.convertScaleAbs(cv2.magnitude(gx, gy))
    return magnitude if frame.ndim == 2 else cv2.merge([magnitude] * 3)


# (filter name, parameters, OpenCV reference)
CASES = [
    ("blur", {}, lambda f: cv2.GaussianBlur(f, (5, 5), 0)),
    ("blur", {"ksize": 3}, lambda f: cv2.GaussianBlur(f, (3, 3), 0)),
    ("blur", {"ksize": 7}, lambda f: cv2.GaussianBlur(f, (7, 7), 0)),
    ("blur", {"ksize": 9}, lambda f: cv2.GaussianBlur(f, (9, 9), 0)),
    ("blur", {"ksize": 15, "sigma": 4.5}, lambda f: cv2.GaussianBlur(f, (15, 15), 4.5)),
    ("blur", {"ksize": 5, "sigma": 0.6}, lambda f: cv2.GaussianBlur(f, (5, 5), 0.6)),
    ("box", {}, lambda f: cv2.blur(f, (5, 5))),
    ("box", {"ksize": 3}, lambda f: cv2.blur(f, (3, 3))),
    ("box", {"ksize": 11}, lambda f: cv2.blur(f, (11, 11))),
    ("emboss", {}, lambda f: cv2.filter2D(f, -1, np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32))),
    ("sharpen", {}, lambda f: cv2.filter2D(f, -1, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32))),
    ("edge", {}, opencv_edge),
    ("kernel", {"matrix": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], "scale": 0.5, "offset": 128},
     lambda f: cv2.filter2D(f, -1, np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float32) * 0.5, delta=128)),
    ("kernel", {"matrix": [[0, 1], [1, 0]]}, lambda f: cv2.filter2D(f, -1, np.array([[0, 1], [1, 0]], np.float32))),
    ("kernel", {"matrix": [[1] * 4] * 6, "scale": 1 / 24},
     lambda f: cv2.filter2D(f, -1, np.ones((6, 4), np.float32) / 24)),
]


def test_every_built_in_is_registered():
    assert set(BUILT_INS) <= set(REGISTRY.names())


@pytest.mark.parametrize("name", BUILT_INS)
def test_contract_gray_and_bgr_keep_shape_and_dtype(name, sample_frames):
    f = REGISTRY.create(name, DEFAULT_PARAMS.get(name, {}))
    for frame in all_frames(sample_frames):
        result = f(frame)
        assert result.shape == frame.shape and result.dtype == np.uint8


@pytest.mark.parametrize("name, params, reference", CASES, ids=[f"{c[0]}{c[1]}"[:60] for c in CASES])
def test_filter_matches_opencv_on_recorded_frames(name, params, reference, sample_frames):
    f = REGISTRY.create(name, params)
    for frame in all_frames(sample_frames):
        assert_close(f(frame), reference(np.ascontiguousarray(frame)))


def test_filters_change_the_picture(sample_frames):
    """Guards the references themselves: no filter (or reference) may be the identity."""
    frame = sample_frames["bgr"][0]
    for name, params, reference in CASES:
        assert np.abs(reference(frame).astype(int) - frame).mean() > 1, name


@pytest.mark.parametrize("frame, message", [
    (np.zeros((4, 4), np.float32), "dtype must be uint8"),
    (np.zeros((4, 4, 4), np.uint8), r"gray \(H, W\) or BGR \(H, W, 3\)"),
    (np.zeros((2, 4, 4, 3), np.uint8), r"gray \(H, W\) or BGR"),
    (np.zeros((0, 4), np.uint8), "must not be empty"),
    ([[1, 2]], "must be a numpy array"),
])
def test_bad_frames_are_refused(frame, message):
    with pytest.raises(ValueError, match=message):
        REGISTRY.create("emboss", {})(frame)


@pytest.mark.parametrize("name, params, message", [
    ("blur", {"ksize": 4}, "ksize must be an odd positive integer, got 4"),
    ("blur", {"ksize": -3}, "ksize must be an odd positive integer, got -3"),
    ("box", {"ksize": 0}, "ksize must be an odd positive integer, got 0"),
    ("blur", {"ksize": 5.0}, "blur: ksize must be int, got 5.0"),
    ("blur", {"sigma": "big"}, "blur: sigma must be float"),
    ("blur", {"size": 5}, r"blur has no parameter 'size' \(did you mean 'ksize'\?\); its parameters: ksize, sigma"),
    ("emboss", {"strength": 2}, "emboss has no parameter 'strength'; its parameters: none"),
    ("kernel", {}, "kernel: missing required parameter 'matrix'"),
    ("kernel", {"matrix": [1, 2, 3]}, "matrix must be a non-empty 2-D list"),
    ("kernel", {"matrix": [[1, 2], [3]]}, "matrix must be a 2-D list of numbers"),
    ("kernel", {"matrix": [[1]], "scale": float("inf")}, "scale must be a finite number"),
])
def test_bad_parameters_are_refused_at_construction(name, params, message):
    with pytest.raises(ValueError, match=message):
        REGISTRY.create(name, params)
