"""Generic 2-D cross-correlation with the kernel's weights read from an array."""
from numba import njit, prange

from .rows import accumulate_same, accumulate_valid, block_rows, store_u8


@njit(parallel=True, cache=True)
def same_to_u8(src, kernel, channels, border, delta, acc, out):
    """'same' mode for uint8 frames: accumulate in float rows of ``acc``, then saturate into ``out``."""
    height = src.shape[0]
    nblocks = acc.shape[0]
    y_anchor, x_anchor = kernel.shape[0] // 2, kernel.shape[1] // 2
    for b in prange(nblocks):
        row = acc[b]
        for y in block_rows(b, nblocks, height):
            row[:] = delta
            accumulate_same(src, y, kernel, channels, border, row, y_anchor, x_anchor)
            store_u8(row, out[y])


@njit(parallel=True, cache=True)
def same_direct(src, kernel, channels, border, delta, nblocks, out):
    """'same' mode accumulating straight into ``out`` (float and int64 results)."""
    height = src.shape[0]
    y_anchor, x_anchor = kernel.shape[0] // 2, kernel.shape[1] // 2
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, height):
            row = out[y]
            row[:] = delta
            accumulate_same(src, y, kernel, channels, border, row, y_anchor, x_anchor)


@njit(parallel=True, cache=True)
def valid_to_u8(src, kernel, channels, delta, acc, out):
    """'valid' mode for uint8 frames."""
    height = out.shape[0]
    nblocks = acc.shape[0]
    for b in prange(nblocks):
        row = acc[b]
        for y in block_rows(b, nblocks, height):
            row[:] = delta
            accumulate_valid(src, y, kernel, channels, row)
            store_u8(row, out[y])


@njit(parallel=True, cache=True)
def valid_direct(src, kernel, channels, delta, nblocks, out):
    """'valid' mode accumulating straight into ``out``."""
    height = out.shape[0]
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, height):
            row = out[y]
            row[:] = delta
            accumulate_valid(src, y, kernel, channels, row)
