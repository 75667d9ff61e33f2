"""Gray conversion and the fused 3x3 Sobel gradient magnitude."""
import numpy as np
from numba import njit, prange

from .borders import REFLECT101, border_index
from .rows import block_rows

# Fixed-point BGR->gray weights (0.114, 0.587, 0.299 in 15 bits). They reproduce OpenCV 5's
# cv2.cvtColor(..., COLOR_BGR2GRAY) exactly; tests/test_kernels.py checks that on every run.
B2Y, G2Y, R2Y, GRAY_SHIFT = 3735, 19235, 9798, 15


@njit(cache=True, inline="always")
def _gray_row(s, g, width):
    """``g = (B*3735 + G*19235 + R*9798 + 2**14) >> 15`` for one BGR row ``s`` of ``width`` pixels."""
    for x in range(width):
        v = (np.int32(s[3 * x]) * B2Y + np.int32(s[3 * x + 1]) * G2Y
             + np.int32(s[3 * x + 2]) * R2Y + (1 << (GRAY_SHIFT - 1)))
        g[x] = np.uint8(v >> GRAY_SHIFT)


@njit(parallel=True, cache=True)
def bgr_to_gray(src, nblocks, gray):
    """Gray of ``src`` seen as (H, W*3), row by row (see :func:`_gray_row`)."""
    height, width = gray.shape
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, height):
            _gray_row(src[y], gray[y], width)


@njit(cache=True, inline="always")
def _magnitude_u8(gx, gy):
    m = np.rint(np.sqrt(np.float32(gx * gx + gy * gy)))
    return np.uint8(min(m, np.float32(255.0)))


@njit(cache=True, inline="always")
def _sobel_edge(r0, r1, r2, x, width):
    """Magnitude at one column, with reflect101 columns (used for the first and last column)."""
    a = border_index(x - 1, width, REFLECT101)
    c = border_index(x + 1, width, REFLECT101)
    gx = (np.int32(r0[c]) - r0[a]) + 2 * (np.int32(r1[c]) - r1[a]) + (np.int32(r2[c]) - r2[a])
    gy = ((np.int32(r2[a]) + 2 * np.int32(r2[x]) + r2[c])
          - (np.int32(r0[a]) + 2 * np.int32(r0[x]) + r0[c]))
    return _magnitude_u8(gx, gy)


@njit(parallel=True, cache=True)
def sobel_magnitude(gray, channels, nblocks, out):
    """``round(sqrt(gx**2 + gy**2))`` of the 3x3 Sobel gradients of ``gray``, saturated to uint8,
    written ``channels`` times per pixel into ``out`` (H, W*channels). Rows use reflect101."""
    height, width = gray.shape
    n = max(width - 2, 0)
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, height):
            r0 = gray[border_index(y - 1, height, REFLECT101)]
            r1 = gray[y]
            r2 = gray[border_index(y + 1, height, REFLECT101)]
            a0, b0, c0 = r0[0:], r0[1:], r0[2:]
            a1, c1 = r1[0:], r1[2:]
            a2, b2, c2 = r2[0:], r2[1:], r2[2:]
            o = out[y]
            inner = o[channels:]
            for x in range(n):
                gx = ((np.int32(c0[x]) - a0[x]) + 2 * (np.int32(c1[x]) - a1[x])
                      + (np.int32(c2[x]) - a2[x]))
                gy = ((np.int32(a2[x]) + 2 * np.int32(b2[x]) + c2[x])
                      - (np.int32(a0[x]) + 2 * np.int32(b0[x]) + c0[x]))
                v = _magnitude_u8(gx, gy)
                for c in range(channels):
                    inner[x * channels + c] = v
            for x in (0, width - 1):  # the same column twice when width == 1
                v = _sobel_edge(r0, r1, r2, x, width)
                for c in range(channels):
                    o[x * channels + c] = v


@njit(cache=True, inline="always")
def _sobel_row(r0, r1, r2, m):
    """Magnitudes of one row into ``m`` from the gray rows above, at and below it."""
    width = m.shape[0]
    n = max(width - 2, 0)
    a0, b0, c0 = r0[0:], r0[1:], r0[2:]
    a1, c1 = r1[0:], r1[2:]
    a2, b2, c2 = r2[0:], r2[1:], r2[2:]
    inner = m[1:]
    for x in range(n):
        gx = ((np.int32(c0[x]) - a0[x]) + 2 * (np.int32(c1[x]) - a1[x])
              + (np.int32(c2[x]) - a2[x]))
        gy = ((np.int32(a2[x]) + 2 * np.int32(b2[x]) + c2[x])
              - (np.int32(a0[x]) + 2 * np.int32(b0[x]) + c0[x]))
        inner[x] = _magnitude_u8(gx, gy)
    for x in (0, width - 1):
        m[x] = _sobel_edge(r0, r1, r2, x, width)


@njit(parallel=True, cache=True)
def fused_bgr_sobel(src, nblocks, gray, magnitude, out):
    """Gray conversion and Sobel magnitude in one pass over a BGR frame seen as (H, W*3): each row
    block converts its rows (and one above and below) into ``gray[b]``, a (rows + 2, W) buffer,
    then writes the magnitude as three equal channels into ``out`` (H, W*3)."""
    height = src.shape[0]
    width = src.shape[1] // 3
    for b in prange(nblocks):
        y0 = b * height // nblocks
        y1 = (b + 1) * height // nblocks
        g = gray[b]
        m = magnitude[b]
        for k in range(y1 - y0 + 2):
            _gray_row(src[border_index(y0 - 1 + k, height, REFLECT101)], g[k], width)
        for y in range(y0, y1):
            k = y - y0
            _sobel_row(g[k], g[k + 1], g[k + 2], m)
            o = out[y]
            for x in range(width):
                v = m[x]
                o[3 * x] = v
                o[3 * x + 1] = v
                o[3 * x + 2] = v


@njit(parallel=True, cache=True)
def sobel_gray(gray, nblocks, out):
    """Sobel magnitude of a gray (H, W) image into ``out`` (H, W), reflect101 rows and columns."""
    height = gray.shape[0]
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, height):
            _sobel_row(gray[border_index(y - 1, height, REFLECT101)], gray[y],
                       gray[border_index(y + 1, height, REFLECT101)], out[y])
