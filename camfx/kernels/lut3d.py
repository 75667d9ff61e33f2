"""3-D colour lookup tables with trilinear interpolation (the ``.cube`` looks of Resolve and
Adobe tools)."""
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


@njit(cache=True, inline="always")
def _sample(table, lower, frac, r, g, b, c):
    """Trilinear value of output channel ``c`` (0 R, 1 G, 2 B) at input (r, g, b)."""
    i, j, k = lower[0, r], lower[1, g], lower[2, b]
    fr, fg, fb = frac[0, r], frac[1, g], frac[2, b]
    c00 = table[k, j, i, c] + fr * (table[k, j, i + 1, c] - table[k, j, i, c])
    c01 = table[k, j + 1, i, c] + fr * (table[k, j + 1, i + 1, c] - table[k, j + 1, i, c])
    c10 = table[k + 1, j, i, c] + fr * (table[k + 1, j, i + 1, c] - table[k + 1, j, i, c])
    c11 = table[k + 1, j + 1, i, c] + fr * (table[k + 1, j + 1, i + 1, c] - table[k + 1, j + 1, i, c])
    c0 = c00 + fg * (c01 - c00)
    c1 = c10 + fg * (c11 - c10)
    return c0 + fb * (c1 - c0)


@njit(parallel=True, cache=True)
def trilinear(src, channels, table, lower, frac, nblocks, out):
    """Map every pixel of ``src`` (H, W*C) through ``table`` (N, N, N, 3) float32, indexed
    [blue][green][red] and holding (R, G, B) outputs in levels (0-255), N >= 2."""
    width = src.shape[1] // channels
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            for x in range(width):
                if channels == 1:
                    bl = gr = rd = s[x]
                else:
                    bl, gr, rd = s[3 * x], s[3 * x + 1], s[3 * x + 2]
                r_ = saturate(_sample(table, lower, frac, rd, gr, bl, 0))
                g_ = saturate(_sample(table, lower, frac, rd, gr, bl, 1))
                b_ = saturate(_sample(table, lower, frac, rd, gr, bl, 2))
                if channels == 1:
                    o[x] = gray_of(np.int32(b_), np.int32(g_), np.int32(r_))
                else:
                    o[3 * x], o[3 * x + 1], o[3 * x + 2] = b_, g_, r_
