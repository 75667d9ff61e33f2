"""Separable filtering (Gaussian, box): a vertical pass into a per-block row buffer, then a
horizontal pass from it, row by row, so no full-frame intermediate is ever written."""
import numpy as np
from numba import njit, prange

from .borders import border_index
from .rows import accumulate_same, block_rows, store_u8


@njit(cache=True, inline="always")
def _separable_row(src, y, column, row_kernel, channels, border, acc):
    """Vertical taps of ``column`` around row ``y`` into ``acc[0]``, horizontal taps of
    ``row_kernel`` (1, kw) from it into ``acc[1]``."""
    height, length = src.shape
    kh = column.shape[0]
    vertical = acc[0]
    vertical[:] = 0
    for i in range(kh):
        sy = border_index(y + i - kh // 2, height, border)
        if sy < 0:
            continue
        w = column[i]
        s = src[sy]
        for x in range(length):
            vertical[x] += w * s[x]
    acc[1, :] = 0
    accumulate_same(acc[0:1], 0, row_kernel, channels, border, acc[1], 0, row_kernel.shape[1] // 2)


@njit(parallel=True, cache=True)
def separable_to_u8(src, column, row_kernel, channels, border, acc, out):
    """Float weights: ``out`` = uint8(round(sum)), like OpenCV's float filters."""
    nblocks = acc.shape[0]
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            _separable_row(src, y, column, row_kernel, channels, border, acc[b])
            store_u8(acc[b, 1], out[y])


@njit(parallel=True, cache=True)
def separable_fixed_to_u8(src, column, row_kernel, channels, border, shift, acc, out):
    """Integer weights with ``shift`` fractional bits in all: exact sums, one round-half-up at the
    end, as OpenCV's bit-exact uint8 GaussianBlur does."""
    nblocks = acc.shape[0]
    half = np.int32(1 << (shift - 1))
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            _separable_row(src, y, column, row_kernel, channels, border, acc[b])
            h = acc[b, 1]
            o = out[y]
            for x in range(o.shape[0]):
                o[x] = np.uint8(min((h[x] + half) >> shift, 255))
