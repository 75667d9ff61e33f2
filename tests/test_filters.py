import cv2
import numpy as np
import pytest

from camfx.engine.registry import Registry
from conftest import all_frames, assert_close

REGISTRY = Registry.discover()
BUILT_INS = ["blur", "box", "edge", "emboss", "kernel", "sharpen", "flip", "gray", "invert", "adjust", "gamma",
             "sepia", "lut", "vignette", "pixelate", "posterize", "unsharp", "laplacian", "scharr", "prewitt",
             "motion_blur", "median", "bilateral", "chroma_key", "cartoon"]


# (filter name, parameters): each compared with the reference the filter itself states.
CASES = [
    ("blur", {}), ("blur", {"ksize": 3}), ("blur", {"ksize": 7}), ("blur", {"ksize": 9}),
    ("blur", {"ksize": 15, "sigma": 4.5}), ("blur", {"ksize": 5, "sigma": 0.6}),
    ("box", {}), ("box", {"ksize": 3}), ("box", {"ksize": 11}),
    ("emboss", {}), ("sharpen", {}), ("edge", {}),
    ("kernel", {"matrix": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], "scale": 0.5, "offset": 128}),
    ("kernel", {"matrix": [[0, 1], [1, 0]]}),
    ("kernel", {"matrix": [[1] * 4] * 6, "scale": 1 / 24}),
    ("flip", {}), ("flip", {"axis": "vertical"}), ("flip", {"axis": "both"}), ("gray", {}), ("invert", {}),
    ("adjust", {"brightness": 20.0, "contrast": 1.3, "saturation": 0.4}), ("gamma", {"gamma": 2.2}),
    ("sepia", {}), ("sepia", {"strength": 0.3}), ("vignette", {}), ("pixelate", {}), ("pixelate", {"block": 7}),
    ("posterize", {}), ("unsharp", {}), ("unsharp", {"ksize": 9, "sigma": 2.0, "amount": 1.5}),
    ("laplacian", {}), ("laplacian", {"ksize": 5}), ("scharr", {}), ("prewitt", {}),
    ("motion_blur", {}), ("motion_blur", {"length": 15, "angle": 45.0}), ("motion_blur", {"length": 7, "angle": 30.0}),
    ("median", {}), ("bilateral", {}), ("chroma_key", {"key": [40, 200, 60], "tolerance": 60.0}),
]


def test_every_built_in_is_registered():
    assert set(BUILT_INS) <= set(REGISTRY.names())


@pytest.mark.parametrize("name, params", CASES, ids=[f"{c[0]}{c[1]}"[:60] for c in CASES])
def test_filter_matches_its_reference_on_recorded_frames(name, params, sample_frames):
    f = REGISTRY.create(name, params)
    reference = f.reference()
    for frame in all_frames(sample_frames):
        assert_close(f(frame), reference(np.ascontiguousarray(frame)), f.reference_tolerance)


def test_filters_change_the_picture(sample_frames):
    """Guards the references themselves: no filter (or reference) may be the identity."""
    frame = sample_frames["bgr"][0]
    for name, params in CASES:
        assert np.abs(REGISTRY.create(name, params).reference()(frame).astype(int) - frame).mean() > 1, name


def test_references_are_what_the_readme_says(sample_frames):
    """The references are OpenCV's functions with the README's kernels, written out here again
    so that a wrong constant in camfx cannot hide in both the filter and its reference."""
    frame = sample_frames["bgr"][0]
    np.testing.assert_array_equal(REGISTRY.create("blur", {"ksize": 9}).reference()(frame),
                                  cv2.GaussianBlur(frame, (9, 9), 0))
    np.testing.assert_array_equal(REGISTRY.create("box", {"ksize": 7}).reference()(frame), cv2.blur(frame, (7, 7)))
    emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)
    np.testing.assert_array_equal(REGISTRY.create("emboss", {}).reference()(frame), cv2.filter2D(frame, -1, emboss))
    sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)
    np.testing.assert_array_equal(REGISTRY.create("sharpen", {}).reference()(frame), cv2.filter2D(frame, -1, sharpen))
    relief = {"matrix": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], "scale": 0.5, "offset": 128}
    np.testing.assert_array_equal(REGISTRY.create("kernel", relief).reference()(frame),
                                  cv2.filter2D(frame, -1, np.float32(relief["matrix"]) * 0.5, delta=128))
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    magnitude = cv2.convertScaleAbs(cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)))
    np.testing.assert_array_equal(REGISTRY.create("edge", {}).reference()(frame), cv2.merge([magnitude] * 3))


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
    ("kernel", {"matrix": [[1e200]], "scale": 1e200}, r"matrix \* scale is too large"),
    ("kernel", {"matrix": [[1e300, 1e300]]}, r"matrix \* scale is too large"),
    ("kernel", {"matrix": [[1]], "offset": 1e300}, "offset must be from"),
    ("blur", {"ksize": 257}, "ksize must be at most 255, got 257"),
    ("blur", {"sigma": float("nan")}, "sigma must be a finite number"),
])
def test_bad_parameters_are_refused_at_construction(name, params, message):
    with pytest.raises(ValueError, match=message):
        REGISTRY.create(name, params)


def test_a_tiny_sigma_is_the_identity_as_in_opencv(sample_frames):
    """sigma=1e-200 used to fail building the filter (0 / 0 in the weights), with a message
    that did not name sigma; OpenCV gives the identity for it, and so does camfx now."""
    f = REGISTRY.create("blur", {"ksize": 9, "sigma": 1e-200})
    for frame in all_frames(sample_frames):
        expected = cv2.GaussianBlur(np.ascontiguousarray(frame), (9, 9), 1e-200)
        np.testing.assert_array_equal(expected, frame)
        np.testing.assert_array_equal(f(frame), expected)


def test_kernel_weights_that_overflow_are_refused_not_run():
    """kernel(matrix=[[1e200]], scale=1e200) used to be accepted and fail on the first frame."""
    with pytest.raises(ValueError, match=r"kernel: matrix \* scale is too large"):
        REGISTRY.create("kernel", {"matrix": [[1e200]], "scale": 1e200})
