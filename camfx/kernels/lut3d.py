"""3-D colour lookup tables with trilinear interpolation (the ``.cube`` looks of Resolve and
Adobe tools).

The interpolation along red is done once, when the LUT is loaded, for all 256 red values at
every (green, blue) lattice point: per pixel there are then 4 rows of 3 values to read (not 8
corners of 3 values) and a bilinear step in green and blue. Trilinear interpolation interpolates
along each axis in turn, so this is the same result, in a third of the time.
"""
import numpy as np
from numba import njit, prange

from .pointwise import gray_of, saturate
from .rows import block_rows


def axis_tables(size, domain_min, domain_max):
    """Per input channel (R, G, B) and 8-bit value, the lattice cell's lower index ``(3, 256)``
    int32 and the position in it ``(3, 256)`` float32: ``t = (v / 255 - min) / (max - min) *
    (size - 1)``, clamped to the lattice."""
    v = np.arange(256) / 255.0
    t = (v[None, :] - np.asarray(domain_min, float)[:, None]) / \
        (np.asarray(domain_max, float) - np.asarray(domain_min, float))[:, None] * (size - 1)
    t = np.clip(t, 0, size - 1)
    lower = np.minimum(np.floor(t), max(size - 2, 0)).astype(np.int32)
    return lower, (t - lower).astype(np.float32)


def red_interpolated(table, lower, frac):
    """``table`` (N, N, N, 3) indexed [blue][green][red], interpolated along red for each of the
    256 red input values: (N, N, 256, 3) float32, indexed [blue][green][red value]."""
    i, f = lower[0], frac[0].astype(np.float64)[:, None]
    low, high = table[:, :, i, :], table[:, :, i + 1, :]
    return np.ascontiguousarray(low + f * (high - low), dtype=np.float32)


@njit(parallel=True, cache=True)
def trilinear(src, channels, rows, lower, frac, nblocks, out):
    """Map every pixel of ``src`` (H, W*C) through a LUT given as ``rows`` (see
    :func:`red_interpolated`; outputs (R, G, B) in levels) and the green and blue
    :func:`axis_tables`; a gray pixel is (g, g, g), its output the gray of the result."""
    width = src.shape[1] // channels
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            for x in range(width):
                if channels == 1:
                    bl = gr = rd = s[x]
                else:
                    bl, gr, rd = s[3 * x], s[3 * x + 1], s[3 * x + 2]
                j, k = lower[1, gr], lower[2, bl]
                fg, fb = frac[1, gr], frac[2, bl]
                a, c = rows[k, j, rd], rows[k, j + 1, rd]
                d, e = rows[k + 1, j, rd], rows[k + 1, j + 1, rd]
                v0 = a[0] + fg * (c[0] - a[0])
                v0 = v0 + fb * (d[0] + fg * (e[0] - d[0]) - v0)
                v1 = a[1] + fg * (c[1] - a[1])
                v1 = v1 + fb * (d[1] + fg * (e[1] - d[1]) - v1)
                v2 = a[2] + fg * (c[2] - a[2])
                v2 = v2 + fb * (d[2] + fg * (e[2] - d[2]) - v2)
                r_, g_, b_ = saturate(v0), saturate(v1), saturate(v2)
                if channels == 1:
                    o[x] = gray_of(np.int32(b_), np.int32(g_), np.int32(r_))
                else:
                    o[3 * x], o[3 * x + 1], o[3 * x + 2] = b_, g_, r_
