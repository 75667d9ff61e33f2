"""Block means (pixelation): every ``block x block`` tile, partial tiles at the right and bottom
included, filled with the mean of its pixels per channel, rounded half up."""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def block_means(src, channels, block, sums, line, out):
    """Tile means of ``src`` (H, W*C) into ``out``. Tile rows are split over ``sums.shape[0]``
    blocks; ``sums`` (blocks, W*C) int32 holds a tile row's column sums and ``line`` (blocks,
    W*C) uint8 its output row, copied to each of the tile's rows."""
    height, length = src.shape
    width = length // channels
    tiles_y = (height + block - 1) // block
    tiles_x = (width + block - 1) // block
    nblocks = sums.shape[0]
    for b in prange(nblocks):
        acc, row = sums[b], line[b]
        for ty in range(b * tiles_y // nblocks, (b + 1) * tiles_y // nblocks):
            y0 = ty * block
            y1 = min(y0 + block, height)
            acc[:] = 0
            for y in range(y0, y1):
                s = src[y]
                for x in range(length):
                    acc[x] += np.int32(s[x])
            for tx in range(tiles_x):
                x0 = tx * block
                x1 = min(x0 + block, width)
                n = np.int64(y1 - y0) * (x1 - x0)
                for c in range(channels):
                    total = np.int64(0)
                    for x in range(x0, x1):
                        total += acc[x * channels + c]
                    mean = np.uint8((total + n // 2) // n)
                    for x in range(x0, x1):
                        row[x * channels + c] = mean
            for y in range(y0, y1):
                out[y, :] = row
