"""Filtered BGR frames in the pixel format an output carries, converted once per frame into one
reused buffer.

The YUV layouts are BT.601 limited range with chroma averaged over the pixels it covers
(:mod:`camfx.kernels.yuv`); the RGB layouts and gray are OpenCV's ``cvtColor``. Odd sizes are
padded to even by repeating the last column and row: 4:2:0 and 4:2:2 need it, and every format
is padded alike so that an output's size does not depend on its format.
"""
import sys

import cv2
import numba
import numpy as np

from ..errors import CamfxError
from ..kernels import yuv
from ..kernels.rows import row_blocks

# Bytes per pixel of each format, and the shape of one frame in it (what pyvirtualcam's
# ``Camera.send`` checks: planar and packed YUV as one flat array).
BYTES_PER_PIXEL = {"I420": 1.5, "NV12": 1.5, "YUYV": 2, "UYVY": 2, "BGR": 3, "RGB": 3, "RGBA": 4, "GRAY": 1}
FORMATS = tuple(BYTES_PER_PIXEL)
# The YUV layouts' kernels write 16- and 32-bit words in little-endian byte order.
assert sys.byteorder == "little", "camfx's YUV kernels assume a little-endian machine"
_KERNELS = {"I420": yuv.bgr_to_i420, "NV12": yuv.bgr_to_nv12, "YUYV": yuv.bgr_to_yuyv, "UYVY": yuv.bgr_to_uyvy}
_CVT = {"RGB": cv2.COLOR_BGR2RGB, "RGBA": cv2.COLOR_BGR2RGBA, "GRAY": cv2.COLOR_BGR2GRAY}


def padded_size(width, height):
    """``(width, height)`` rounded up to even numbers."""
    return width + width % 2, height + height % 2


def frame_shape(fmt, width, height):
    """Shape of one ``width`` x ``height`` frame (already even) in ``fmt``."""
    if fmt in ("BGR", "RGB"):
        return (height, width, 3)
    if fmt == "RGBA":
        return (height, width, 4)
    if fmt == "GRAY":
        return (height, width)
    return (int(width * height * BYTES_PER_PIXEL[fmt]),)


class PixelConverter:
    """Converts BGR uint8 frames of one size to ``fmt`` (one of :data:`FORMATS`).

    Parameters
    ----------
    fmt : str
        ``"I420"`` (planes Y, U, V), ``"NV12"`` (Y, then U and V interleaved), ``"YUYV"``,
        ``"UYVY"`` (packed 4:2:2), ``"BGR"``, ``"RGB"``, ``"RGBA"`` (alpha 255) or ``"GRAY"``.
    width, height : int
        The frames' size in pixels; the output is :func:`padded_size` of it.

    Calling the converter with a BGR ``(H, W, 3)`` (or gray ``(H, W)``) uint8 frame returns the
    converted frame, of :func:`frame_shape`, in a buffer that the next call overwrites. A frame
    of another size (a source that came back at another resolution) is first resized to
    ``width`` x ``height``: a camera or pipe keeps the size it announced. Raises CamfxError for
    an unknown format.
    """

    def __init__(self, fmt, width, height):
        if fmt not in FORMATS:
            raise CamfxError(f"pixel format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.fmt, self.size = fmt, (width, height)
        self.padded = padded_size(width, height)
        pw, ph = self.padded
        self.buffer = np.empty(frame_shape(fmt, pw, ph), np.uint8)
        if fmt in ("I420", "NV12"):
            flat = self.buffer
            luma, quarter = pw * ph, (pw // 2) * (ph // 2)
            self._planes = [flat[:luma].reshape(ph, pw)]
            if fmt == "I420":
                self._planes += [flat[luma:luma + quarter].reshape(ph // 2, pw // 2),
                                 flat[luma + quarter:].reshape(ph // 2, pw // 2)]
            else:  # U and V interleaved: one 16-bit word per 2x2 block
                self._planes.append(flat[luma:].view(np.uint16).reshape(ph // 2, pw // 2))
        elif fmt in ("YUYV", "UYVY"):  # one 32-bit word per pair of pixels
            self._planes = [self.buffer.view(np.uint32).reshape(ph, pw // 2)]
        self._pad = None

    def __call__(self, image):
        if image.shape[1::-1] != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        height, width = image.shape[:2]
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        image = np.ascontiguousarray(image)
        fmt = self.fmt
        if fmt in _KERNELS:
            rows = self.padded[1] // 2 if fmt in ("I420", "NV12") else self.padded[1]
            _KERNELS[fmt](image.reshape(height, -1), width, row_blocks(rows, numba.get_num_threads()),
                          *self._planes)
        else:
            if self.padded != self.size:
                image = self._padded(image)
            if fmt == "BGR":
                np.copyto(self.buffer, image)
            else:
                cv2.cvtColor(image, _CVT[fmt], dst=self.buffer)
        return self.buffer

    def _padded(self, image):
        """``image`` with its last column and row repeated up to the even size."""
        height, width = image.shape[:2]
        pw, ph = self.padded
        if self._pad is None:
            self._pad = np.empty((ph, pw, 3), np.uint8)
        return cv2.copyMakeBorder(image, 0, ph - height, 0, pw - width, cv2.BORDER_REPLICATE, dst=self._pad)
