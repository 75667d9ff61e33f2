"""Chroma keying: pixels whose chroma is near a key colour's give way to a background.

The chroma plane is YCbCr's (ITU-R BT.601, full range, as JPEG): ``Cb = 0.5 B - 0.168736 R -
0.331264 G`` and ``Cr = 0.5 R - 0.418688 G - 0.081312 B``, in levels (0-255 units, without the
+128 offset, which cancels in a distance). A pixel at chroma distance ``d`` from the key keeps
``alpha = clip((d - tolerance) / softness, 0, 1)`` of itself and takes ``1 - alpha`` of the
background (a hard edge, ``d > tolerance``, when ``softness`` is 0), as OBS's chroma key does
with its similarity and smoothness.
"""
import numpy as np
from numba import njit, prange

from .pointwise import gray_of, saturate
from .rows import block_rows

CB = (0.5, -0.331264, -0.168736)   # B, G, R
CR = (-0.081312, -0.418688, 0.5)


def chroma(bgr):
    """(Cb, Cr) of a BGR colour (or of the last axis of an array), in float64."""
    bgr = np.asarray(bgr, np.float64)
    return bgr @ np.array(CB), bgr @ np.array(CR)


@njit(cache=True, inline="always")
def _alpha(d, tolerance, softness):
    if softness > 0:
        return min(max((d - tolerance) / softness, np.float32(0.0)), np.float32(1.0))
    return np.float32(1.0) if d > tolerance else np.float32(0.0)


@njit(parallel=True, cache=True)
def key(src, channels, key_cb, key_cr, tolerance, softness, background, nblocks, out):
    """Key ``src`` (H, W*C) against the key chroma into ``out``; ``background`` is (H, W*C), or
    one row (1, W*C) used for every row. A gray frame has no chroma (Cb = Cr = 0): one alpha for
    the whole frame, against the gray of the background."""
    width = src.shape[1] // channels
    kb, kr = np.float32(key_cb), np.float32(key_cr)
    tol, soft = np.float32(tolerance), np.float32(softness)
    cb0, cb1, cb2 = np.float32(CB[0]), np.float32(CB[1]), np.float32(CB[2])
    cr0, cr1, cr2 = np.float32(CR[0]), np.float32(CR[1]), np.float32(CR[2])
    flat = background.shape[0] == 1
    gray_alpha = _alpha(np.sqrt(kb * kb + kr * kr), tol, soft)
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            g = background[0] if flat else background[y]
            if channels == 1:
                for x in range(width):
                    v = np.float32(g[x])
                    o[x] = saturate(v + gray_alpha * (np.float32(s[x]) - v))
                continue
            for x in range(width):
                p, q, r = np.float32(s[3 * x]), np.float32(s[3 * x + 1]), np.float32(s[3 * x + 2])
                db = cb0 * p + cb1 * q + cb2 * r - kb
                dr = cr0 * p + cr1 * q + cr2 * r - kr
                alpha = _alpha(np.sqrt(db * db + dr * dr), tol, soft)
                for c in range(3):
                    v = np.float32(g[3 * x + c])
                    o[3 * x + c] = saturate(v + alpha * (np.float32(s[3 * x + c]) - v))
