"""Pixel formats for the outputs: every YUV layout within rounding of the BT.601 matrix computed
in floating point, odd sizes padded, and the RGB layouts equal to OpenCV's."""
import cv2
import numpy as np
import pytest

from camfx.outputs.pixels import FORMATS, PixelConverter, frame_shape, padded_size
from yuv_reference import i420_planes, reference

YUV = ("I420", "NV12", "YUYV", "UYVY")


def crop(frame, width, height):
    """A ``width`` x ``height`` picture cut from a recorded frame tiled 2x2 (so odd sizes above
    the clip's own are possible)."""
    return np.ascontiguousarray(np.tile(frame, (2, 2, 1))[:height, :width])


@pytest.mark.parametrize("fmt", YUV)
@pytest.mark.parametrize("size", [(320, 240), (321, 241), (7, 5), (1, 1), (2, 3)])
def test_yuv_layouts_match_the_bt601_matrix_within_rounding(recorded_frames, fmt, size):
    width, height = size
    image = crop(recorded_frames[4], width, height)
    out = PixelConverter(fmt, width, height)(image)
    assert out.shape == frame_shape(fmt, *padded_size(width, height))
    diff = np.abs(out.astype(np.int16) - reference(image, fmt))
    assert diff.max() <= 1
    assert np.mean(diff) < 0.25  # mostly exact: the fixed-point weights are 15-bit


def test_odd_sizes_repeat_the_last_column_and_row(recorded_frames):
    image = crop(recorded_frames[2], 321, 241)
    y, u, v = i420_planes(PixelConverter("I420", 321, 241)(image), 322, 242)
    np.testing.assert_array_equal(y[:, 321], y[:, 320])
    np.testing.assert_array_equal(y[241], y[240])
    even = PixelConverter("I420", 322, 242)(np.pad(image, ((0, 1), (0, 1), (0, 0)), mode="edge"))
    np.testing.assert_array_equal(np.concatenate([y.ravel(), u.ravel(), v.ravel()]), even)


def test_luma_agrees_with_opencv_and_grey_stays_grey(recorded_frames):
    image = recorded_frames[7]
    height, width = image.shape[:2]
    y, u, v = i420_planes(PixelConverter("I420", width, height)(image), width, height)
    opencv_y = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)[:height]  # also BT.601 studio range
    assert np.abs(y.astype(np.int16) - opencv_y).max() <= 1
    grey = np.full((4, 6, 3), 77, np.uint8)
    y, u, v = i420_planes(PixelConverter("I420", 6, 4)(grey), 6, 4)
    assert (u == 128).all() and (v == 128).all() and (y == round(16 + 77 * 219 / 255)).all()
    black, white = (PixelConverter("I420", 2, 2)(np.full((2, 2, 3), c, np.uint8))[0] for c in (0, 255))
    assert (black, white) == (16, 235)


@pytest.mark.parametrize("fmt,code", [("RGB", cv2.COLOR_BGR2RGB), ("RGBA", cv2.COLOR_BGR2RGBA),
                                      ("GRAY", cv2.COLOR_BGR2GRAY), ("BGR", None)])
def test_rgb_layouts_are_opencvs(recorded_frames, fmt, code):
    image = recorded_frames[1]
    height, width = image.shape[:2]
    out = PixelConverter(fmt, width, height)(image)
    np.testing.assert_array_equal(out, image if code is None else cv2.cvtColor(image, code))


def test_the_buffer_is_reused_and_other_sizes_are_resized(recorded_frames):
    convert = PixelConverter("NV12", 160, 120)
    first = convert(crop(recorded_frames[3], 160, 120))
    kept = first.copy()
    again = convert(recorded_frames[0])  # 320x240: resized to the size the converter announced
    assert again is first and again.shape == (160 * 120 * 3 // 2,)
    assert not np.array_equal(again, kept)
    small = cv2.resize(recorded_frames[0], (160, 120), interpolation=cv2.INTER_AREA)
    assert np.abs(again.astype(np.int16) - reference(small, "NV12")).max() <= 1


def test_unknown_formats_are_named():
    with pytest.raises(ValueError, match="pixel format must be one of I420"):
        PixelConverter("YV12", 4, 4)
    assert set(YUV) <= set(FORMATS)
