"""BGR to the YUV layouts that cameras and video pipes carry: planar I420, semi-planar NV12 and
packed YUYV / UYVY, in BT.601 limited range (Y 16-235, U and V 16-240), the colours every webcam
reader assumes when nothing says otherwise.

Each chroma sample is the mean of the pixels it covers (2x2 for 4:2:0, 1x2 for 4:2:2): chroma
sited at the centre, what YUV4MPEG2 calls ``420jpeg``. (OpenCV's ``COLOR_BGR2YUV_I420`` takes the
top-left pixel of each block instead, which aliases thin coloured lines.) An odd width or height
is padded by repeating the last column or row, as :class:`camfx.files.video.OutputVideo` does.

Frames come in seen as ``(H, W*3)`` rows; the outputs are the padded planes or rows. All sums are
exact in int32 and rounded once.
"""
import numpy as np
from numba import njit, prange

from .rows import block_rows

# ITU-R BT.601 studio-range matrix (Rec. 601, section 2.5.3; also libyuv's and FFmpeg's
# "bt601 tv" coefficients), Y' = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 and so on, in
# 15-bit fixed point. The chroma rows sum to zero, so grey stays exactly 128.
SHIFT = 15
YR, YG, YB = 8414, 16519, 3208          # 0.256788, 0.504129, 0.097906
UR, UG, UB = -4857, -9535, 14392        # -0.148223, -0.290993, 0.439216
VR, VG, VB = 14392, -12052, -2340       # 0.439216, -0.367788, -0.071427
Y_BIAS = (16 << SHIFT) + (1 << (SHIFT - 1))


@njit(cache=True, inline="always")
def _luma(s, a):
    """Y of the BGR pixel at offset ``a`` of row ``s``."""
    return np.uint8((np.int32(s[a + 2]) * YR + np.int32(s[a + 1]) * YG + np.int32(s[a]) * YB + Y_BIAS) >> SHIFT)


@njit(cache=True, inline="always")
def _luma_row(s, y, width):
    """One row of Y from BGR row ``s``; a padded last column repeats the row's last pixel."""
    for x in range(width):
        y[x] = _luma(s, 3 * x)
    if y.shape[0] > width:
        y[width] = y[width - 1]


@njit(cache=True, inline="always")
def _chroma(b, g, r, shift):
    """(U, V) of channel sums ``b, g, r`` over ``2**(shift - SHIFT)`` pixels, rounded."""
    bias = (128 << shift) + (1 << (shift - 1))
    u = np.uint8((r * UR + g * UG + b * UB + bias) >> shift)
    v = np.uint8((r * VR + g * VG + b * VB + bias) >> shift)
    return u, v


@njit(cache=True, inline="always")
def _block_sums(s0, s1, a, c):
    """Sums of B, G and R over the pixels at row offsets ``a`` and ``c`` of rows ``s0`` and ``s1``."""
    b = np.int32(s0[a]) + s0[c] + s1[a] + s1[c]
    g = np.int32(s0[a + 1]) + s0[c + 1] + s1[a + 1] + s1[c + 1]
    r = np.int32(s0[a + 2]) + s0[c + 2] + s1[a + 2] + s1[c + 2]
    return b, g, r


@njit(cache=True, inline="always")
def _store_uv(u, v, i, b, g, r, interleaved):
    """U and V of a 2x2 block into ``u[i]`` and ``v[i]``, or, ``interleaved``, into the 16-bit
    word ``u[i]`` as NV12 lays them out (U first in memory: little-endian)."""
    cu, cv = _chroma(b, g, r, SHIFT + 2)
    if interleaved:
        u[i] = np.uint16(cu) | (np.uint16(cv) << 8)
    else:
        u[i], v[i] = cu, cv


@njit(cache=True, inline="always")
def _rows_420(src, width, nblocks, block, y, u, v, interleaved):
    """The row pairs of row block ``block``: Y of both rows, and chroma of their 2x2 blocks (a
    padded last row repeats the one before, a padded last column likewise)."""
    height = src.shape[0]
    n = width // 2
    for p in block_rows(block, nblocks, y.shape[0] // 2):
        s0 = src[2 * p]
        s1 = src[min(2 * p + 1, height - 1)]
        _luma_row(s0, y[2 * p], width)
        _luma_row(s1, y[2 * p + 1], width)
        up, vp = u[p], v[p]
        # Offsets from slice views that start at 0: the loop then vectorises (NUMBA.md, fact 1).
        s0a, s0c, s1a, s1c = s0[0:], s0[3:], s1[0:], s1[3:]
        for i in range(n):
            b = np.int32(s0a[6 * i]) + s0c[6 * i] + s1a[6 * i] + s1c[6 * i]
            g = np.int32(s0a[6 * i + 1]) + s0c[6 * i + 1] + s1a[6 * i + 1] + s1c[6 * i + 1]
            r = np.int32(s0a[6 * i + 2]) + s0c[6 * i + 2] + s1a[6 * i + 2] + s1c[6 * i + 2]
            _store_uv(up, vp, i, b, g, r, interleaved)
        if width % 2:
            x = 3 * (width - 1)
            b, g, r = _block_sums(s0, s1, x, x)
            _store_uv(up, vp, n, b, g, r, interleaved)


@njit(parallel=True, cache=True)
def bgr_to_i420(src, width, nblocks, y, u, v):
    """I420 from ``src`` (H, W*3): Y into ``y`` (PH, PW), U and V into ``u`` and ``v``
    (PH/2, PW/2), where PH, PW are H, W rounded up to even."""
    for b in prange(nblocks):
        _rows_420(src, width, nblocks, b, y, u, v, False)


@njit(parallel=True, cache=True)
def bgr_to_nv12(src, width, nblocks, y, uv):
    """NV12 from ``src`` (H, W*3): Y into ``y`` (PH, PW), U and V interleaved into ``uv``
    (PH/2, PW/2) uint16 words (the (PH/2, PW) byte plane seen as 16-bit words)."""
    for b in prange(nblocks):
        _rows_420(src, width, nblocks, b, y, uv, uv, True)


@njit(cache=True, inline="always")
def _store_422(o, i, y0, cu, y1, cv, uyvy):
    """One pair of pixels as the 32-bit word ``o[i]``: bytes Y0 U Y1 V (YUYV) or U Y0 V Y1
    (UYVY) in memory order (little-endian)."""
    if uyvy:
        o[i] = np.uint32(cu) | (np.uint32(y0) << 8) | (np.uint32(cv) << 16) | (np.uint32(y1) << 24)
    else:
        o[i] = np.uint32(y0) | (np.uint32(cu) << 8) | (np.uint32(y1) << 16) | (np.uint32(cv) << 24)


@njit(cache=True, inline="always")
def _rows_422(src, width, nblocks, block, out, uyvy):
    """Packed 4:2:2 rows of row block ``block`` into ``out`` (PH, PW/2) 32-bit words, one per
    pair of pixels (a padded last row or column repeats the one before)."""
    height = src.shape[0]
    n = width // 2
    for row in block_rows(block, nblocks, out.shape[0]):
        s = src[min(row, height - 1)]
        sa, sc = s[0:], s[3:]
        o = out[row]
        for i in range(n):
            b = np.int32(sa[6 * i]) + sc[6 * i]
            g = np.int32(sa[6 * i + 1]) + sc[6 * i + 1]
            r = np.int32(sa[6 * i + 2]) + sc[6 * i + 2]
            cu, cv = _chroma(b, g, r, SHIFT + 1)
            _store_422(o, i, _luma(sa, 6 * i), cu, _luma(sc, 6 * i), cv, uyvy)
        if width % 2:
            x = 3 * (width - 1)
            cu, cv = _chroma(2 * np.int32(s[x]), 2 * np.int32(s[x + 1]), 2 * np.int32(s[x + 2]), SHIFT + 1)
            _store_422(o, n, _luma(s, x), cu, _luma(s, x), cv, uyvy)


@njit(parallel=True, cache=True)
def bgr_to_yuyv(src, width, nblocks, out):
    """YUYV (YUY2) from ``src`` (H, W*3) into ``out`` (PH, PW/2) uint32 words."""
    for b in prange(nblocks):
        _rows_422(src, width, nblocks, b, out, False)


@njit(parallel=True, cache=True)
def bgr_to_uyvy(src, width, nblocks, out):
    """UYVY from ``src`` (H, W*3) into ``out`` (PH, PW/2) uint32 words."""
    for b in prange(nblocks):
        _rows_422(src, width, nblocks, b, out, True)
