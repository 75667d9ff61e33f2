import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from camfx import convolve2d
from camfx.kernels import separable_filter, sobel_magnitude, to_gray
from conftest import all_frames, assert_close

CV_BORDERS = {
    "reflect101": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT,
    "constant": cv2.BORDER_CONSTANT,
}
RNG = np.random.default_rng(3)
KERNELS = {
    "emboss 3x3": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32),
    "even 2x2": np.array([[0, 1], [1, 0]], np.float32),
    "random 4x6": RNG.normal(size=(4, 6)).astype(np.float32),
    "random 7x5": RNG.normal(0, 0.2, size=(7, 5)).astype(np.float32),
    "1x9 row": np.full((1, 9), 1 / 9, np.float32),
}


def test_seed_article_example_is_exact():
    result = convolve2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[0, 1], [1, 0]], mode="valid")
    np.testing.assert_array_equal(result, [[6, 8], [12, 14]])
    assert result.dtype == np.int64


def valid_reference(image, kernel):
    """Direct definition: sum of element-wise products over every fully covered window."""
    windows = sliding_window_view(image.astype(np.float64), kernel.shape, axis=(0, 1))
    return np.einsum("yx...ij,ij->yx...", windows, kernel.astype(np.float64))


@pytest.mark.parametrize("border", CV_BORDERS)
@pytest.mark.parametrize("kernel_name", KERNELS)
def test_same_mode_matches_filter2d_on_recorded_frames(sample_frames, border, kernel_name):
    kernel = KERNELS[kernel_name]
    for frame in all_frames(sample_frames):
        expected = cv2.filter2D(frame, -1, kernel, borderType=CV_BORDERS[border])
        assert_close(convolve2d(frame, kernel, border=border), expected)


def test_kernel_larger_than_the_image_reflects_like_opencv():
    image = RNG.integers(0, 256, (3, 4, 3), np.uint8)
    kernel = RNG.normal(size=(9, 11)).astype(np.float32)
    for border, code in CV_BORDERS.items():
        assert_close(convolve2d(image, kernel, border=border), cv2.filter2D(image, -1, kernel, borderType=code))


@pytest.mark.parametrize("kernel_name", KERNELS)
def test_valid_mode_matches_the_definition(sample_frames, kernel_name):
    kernel = KERNELS[kernel_name]
    for frame in sample_frames["bgr"][:2] + sample_frames["gray"][:2]:
        expected = np.clip(np.rint(valid_reference(frame, kernel)), 0, 255).astype(np.uint8)
        assert_close(convolve2d(frame, kernel, mode="valid"), expected)


def test_float_and_integer_images_keep_precision():
    image = RNG.normal(size=(20, 30))
    kernel = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(convolve2d(image, kernel, mode="valid"), valid_reference(image, kernel))
    as32 = convolve2d(image.astype(np.float32), kernel, mode="valid")
    assert as32.dtype == np.float32
    np.testing.assert_allclose(as32, valid_reference(image, kernel), rtol=1e-4, atol=1e-4)
    ints = RNG.integers(-1000, 1000, (15, 12))
    np.testing.assert_array_equal(convolve2d(ints, [[1, -2], [3, 4]], mode="valid"),
                                  valid_reference(ints, np.array([[1, -2], [3, 4]])).astype(np.int64))
    same = convolve2d(image, kernel, border="constant")
    expected = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_allclose(same, expected, rtol=1e-9, atol=1e-9)


def test_delta_is_added_before_rounding(sample_frames):
    frame = sample_frames["bgr"][0]
    kernel = KERNELS["random 7x5"]
    assert_close(convolve2d(frame, kernel, delta=37.5), cv2.filter2D(frame, -1, kernel, delta=37.5))


def test_out_path_writes_in_place_without_new_arrays(sample_frames):
    frame = sample_frames["bgr"][0]
    out = np.empty_like(frame)
    result = convolve2d(frame, KERNELS["emboss 3x3"], out=out)
    assert result is out
    assert_close(out, cv2.filter2D(frame, -1, KERNELS["emboss 3x3"]))


@pytest.mark.parametrize("call, message", [
    (lambda f: convolve2d(f, [[1]], mode="full"), "mode must be one of same, valid"),
    (lambda f: convolve2d(f, [[1]], border="wrap"), "border must be one of reflect101"),
    (lambda f: convolve2d(f, [1, 2, 3]), "kernel must be a non-empty 2-D array"),
    (lambda f: convolve2d(f, [[np.nan]]), "kernel must hold finite numbers"),
    (lambda f: convolve2d(f[0, 0], [[1]]), "image must be a non-empty 2-D or 3-D"),
    (lambda f: convolve2d(f[:2, :2], np.ones((3, 3)), mode="valid"), "larger than the image"),
    (lambda f: convolve2d(f, [[1]], out=np.empty((2, 2), np.uint8)), "out must be an array of shape"),
    (lambda f: convolve2d(f, [[1]], out=f), "must not overlap"),
    (lambda f: convolve2d(f.astype(str), [[1]]), "image dtype must be numeric"),
])
def test_bad_arguments_name_the_problem(sample_frames, call, message):
    with pytest.raises(ValueError, match=message):
        call(sample_frames["bgr"][0])


@pytest.mark.parametrize("call, message", [
    (lambda: to_gray(np.zeros((4, 4), np.uint8)), r"frame must be a non-empty BGR \(H, W, 3\) array, got shape \(4, 4\)"),
    (lambda: to_gray(np.zeros((4, 4, 4), np.uint8)), r"BGR \(H, W, 3\) array, got shape \(4, 4, 4\)"),
    (lambda: to_gray(np.zeros((4, 4, 3), np.float32)), "frame dtype must be uint8, got float32"),
    (lambda: sobel_magnitude(np.zeros((4, 4, 3), np.uint8)), r"gray must be a non-empty \(H, W\) array"),
    (lambda: sobel_magnitude(np.zeros((4, 4), np.uint8), 0), "channels must be a positive integer"),
    (lambda: sobel_magnitude(np.zeros((0, 4), np.uint8)), "got shape"),
    (lambda: separable_filter(np.zeros((4, 4), np.int16), [1], [1]), "frame dtype must be uint8"),
    (lambda: separable_filter(np.zeros((4,), np.uint8), [1], [1]), r"\(H, W\) or \(H, W, C\)"),
    (lambda: separable_filter(np.zeros((4, 4), np.uint8), [[1]], [1]), "column must be a non-empty 1-D array"),
    (lambda: separable_filter(np.zeros((4, 4), np.uint8), [1], [np.inf]), "row must be a non-empty 1-D array"),
    (lambda: separable_filter(np.zeros((4, 4), np.uint8), [1], [1], fraction_bits=-1), "fraction_bits must be"),
])
def test_public_kernel_helpers_check_their_inputs(call, message):
    """The compiled kernels trust shapes: a gray frame given to to_gray used to read past it."""
    with pytest.raises(ValueError, match=message):
        call()


def test_separable_filter_equals_the_outer_product_kernel(sample_frames):
    column, row = np.array([1, 2, 1]) / 4, np.array([1, 4, 6, 4, 1]) / 16
    for frame in all_frames(sample_frames):
        for border, code in CV_BORDERS.items():
            expected = cv2.filter2D(frame, -1, np.outer(column, row), borderType=code)
            assert_close(separable_filter(frame, column, row, border=border), expected)


def test_gray_is_bit_exact_with_cvtcolor(sample_frames):
    for frame in sample_frames["bgr"] + [v for v in sample_frames["views"] if v.ndim == 3]:
        np.testing.assert_array_equal(to_gray(frame), cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))


def test_sobel_magnitude_matches_opencv(sample_frames):
    for gray in sample_frames["gray"] + [v for v in sample_frames["views"] if v.ndim == 2]:
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
        expected = cv2.convertScaleAbs(cv2.magnitude(gx, gy))
        assert_close(sobel_magnitude(gray), expected)


def test_compiled_code_is_cached_on_disk(tmp_path):
    """A second process loads the kernels from the on-disk cache instead of recompiling."""
    script = (
        "import numpy as np, camfx\n"
        "from camfx.kernels import correlate\n"
        "camfx.convolve2d(np.zeros((8, 8, 3), np.uint8), [[1, 2], [3, 4]])\n"
        "stats = correlate.same_to_u8.stats\n"
        "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert runs[0].stdout.split() == ["0", "1"]  # cold: compiled
    assert runs[1].stdout.split() == ["1", "0"]  # warm: loaded from disk


def test_docstring_examples_hold():
    import doctest

    import camfx.kernels
    result = doctest.testmod(camfx.kernels)
    assert result.attempted >= 1 and result.failed == 0


def test_matte_composite_against_opencv_resize_and_a_blend():
    """The composite resizes the mask and the background to the frame as cv2.resize does
    (INTER_LINEAR), then blends through the smoothstep of the mask."""
    from camfx.kernels import matte
    frame = RNG.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    back = RNG.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    mask = RNG.random((6, 8)).astype(np.float32)
    rows_mask = cv2.resize(cv2.merge([mask] * 3), (53, 6), interpolation=cv2.INTER_LINEAR).reshape(6, -1)
    rows_back = cv2.resize(back, (53, 9), interpolation=cv2.INTER_LINEAR).reshape(9, -1)
    out = np.empty_like(frame)
    matte.composite(frame.reshape(37, -1), rows_mask, matte.bilinear_table(37, 6), rows_back,
                    matte.bilinear_table(37, 9), 0.4, 0.9, 3, out.reshape(37, -1))
    t = np.clip((cv2.resize(mask, (53, 37), interpolation=cv2.INTER_LINEAR) - 0.4) / 0.5, 0, 1)[..., None]
    alpha = t * t * (3 - 2 * t)
    background = cv2.resize(back, (53, 37), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    expected = background + alpha * (frame - background)
    # cv2's uint8 resize rounds its weights to 11 bits; the rest is float arithmetic.
    assert np.abs(out - expected).max() <= 1.5
