"""Row primitives shared by the compiled kernels.

Every hot loop here runs over a bare ``range(n)`` index into slice views that start at 0: numba
then emits no negative-index wraparound checks and LLVM vectorises the loop (../shared/perf/NUMBA.md,
facts 1 and 2). Frames are seen as ``(H, W * C)`` rows, so a horizontal step of one pixel is an
offset of ``C`` elements.
"""
import numpy as np
from numba import njit

from .borders import border_index


def row_blocks(height, threads):
    """How many row blocks to split a frame into: a few per thread, for load balance."""
    return max(1, min(height, 4 * threads))


@njit(cache=True, inline="always")
def block_rows(block, nblocks, height):
    """The ``range`` of rows that row block ``block`` of ``nblocks`` covers."""
    return range(block * height // nblocks, (block + 1) * height // nblocks)


@njit(cache=True, inline="always")
def accumulate_same(src, y, kernel, channels, border, row, y_anchor, x_anchor):
    """Add the cross-correlation of ``kernel`` with ``src`` around row ``y`` to ``row``.

    ``row[p] += sum_ij kernel[i, j] * src[y + i - y_anchor, p + (j - x_anchor) * channels]``, with
    positions outside the image mapped by ``border``.
    """
    height, length = src.shape
    width = length // channels
    kh, kw = kernel.shape
    inner = max(width - kw + 1, 0) * channels  # outputs whose taps all fall inside the row
    left = min(x_anchor, width)
    right = max(width - (kw - 1 - x_anchor), left)
    for i in range(kh):
        sy = border_index(y + i - y_anchor, height, border)
        if sy < 0:
            continue
        srow = src[sy]
        for j in range(kw):
            w = kernel[i, j]
            if w == 0:
                continue
            if inner > 0:
                a = srow[j * channels:j * channels + inner]
                r = row[x_anchor * channels:x_anchor * channels + inner]
                for x in range(inner):
                    r[x] += w * a[x]
            for px in range(left):
                _accumulate_edge(srow, w, px, j - x_anchor, width, channels, border, row)
            for px in range(right, width):
                _accumulate_edge(srow, w, px, j - x_anchor, width, channels, border, row)


@njit(cache=True, inline="always")
def _accumulate_edge(srow, w, px, shift, width, channels, border, row):
    sx = border_index(px + shift, width, border)
    if sx >= 0:
        for c in range(channels):
            row[px * channels + c] += w * srow[sx * channels + c]


@njit(cache=True, inline="always")
def accumulate_valid(src, y, kernel, channels, row):
    """Add the cross-correlation at fully covered positions of output row ``y`` to ``row``."""
    kh, kw = kernel.shape
    n = row.shape[0]
    for i in range(kh):
        srow = src[y + i]
        for j in range(kw):
            w = kernel[i, j]
            if w == 0:
                continue
            a = srow[j * channels:j * channels + n]
            for x in range(n):
                row[x] += w * a[x]


@njit(cache=True, inline="always")
def store_u8(row, out_row):
    """Round half to even and saturate to uint8, like OpenCV's ``saturate_cast<uchar>``."""
    for x in range(out_row.shape[0]):
        v = np.rint(row[x])
        out_row[x] = np.uint8(min(max(v, 0.0), 255.0))
