"""Per-pixel maps: each output pixel depends on its own input pixel (and, for the vignette, on
where it is). Frames are seen as ``(H, W * C)`` rows, row blocks run in parallel, and each hot
loop runs over a bare ``range(n)`` (../shared/perf/NUMBA.md, facts 1-3); the coefficients are
scalars, loop invariants to LLVM, so nothing is gained by generating code per value.

A colour map given a gray frame works on the gray pixel as ``(g, g, g)`` and returns the gray
(:func:`gray_of`, OpenCV's BGR2GRAY) of the result, so that the gray frame shows what a gray
display of the coloured result would.
"""
import numba
import numpy as np
from numba import njit, prange

from .rows import block_rows, row_blocks
from .scratch import check_image, check_out, scratch
from .sobel import B2Y, G2Y, GRAY_SHIFT, R2Y


def rows(frame, out):
    """``(frame, out, src_rows, out_rows, channels, nblocks)`` for a kernel of this module:
    ``frame`` checked (uint8, (H, W) or (H, W, 3)) and made C-contiguous, ``out`` checked or
    made, both also seen as ``(H, W * C)`` rows."""
    frame = np.ascontiguousarray(check_image(frame, "frame"))
    channels = frame.shape[2] if frame.ndim == 3 else 1
    if channels not in (1, 3):
        raise ValueError(f"frame must be gray (H, W) or BGR (H, W, 3), got shape {frame.shape}")
    out = check_out(out, frame.shape, np.dtype(np.uint8), frame)
    height = frame.shape[0]
    return (frame, out, frame.reshape(height, -1), out.reshape(height, -1), channels,
            row_blocks(height, numba.get_num_threads()))


@njit(cache=True, inline="always")
def gray_of(b, g, r):
    """OpenCV's BGR2GRAY of one pixel (int32 channel values), bit-exact."""
    return np.uint8((b * B2Y + g * G2Y + r * R2Y + (1 << (GRAY_SHIFT - 1))) >> GRAY_SHIFT)


@njit(cache=True, inline="always")
def saturate(v):
    """A float rounded half to even and saturated to uint8 (OpenCV's ``saturate_cast``)."""
    return np.uint8(min(max(np.rint(v), np.float32(0.0)), np.float32(255.0)))


class Lut:
    """A 256-entry uint8 table applied to every byte of a frame: ``lut(frame, out=None)``.

    Rows of even length are looked up two bytes at a time in a 65,536-entry uint16 table (128
    KiB, built once): half the loads of the byte-wise loop, which is what limits it.
    """

    def __init__(self, table):
        table = np.asarray(table)
        if table.shape != (256,) or table.dtype != np.uint8:
            raise ValueError(f"a LUT must be 256 uint8 values, got {table.shape} {table.dtype}")
        self.table = table
        pairs = np.arange(1 << 16)
        # Little-endian: the first byte of a pair is the low half of the uint16.
        self.pairs = (table[pairs & 0xFF].astype(np.uint16) | (table[pairs >> 8].astype(np.uint16) << 8))

    def __call__(self, frame, out=None):
        frame, out, src, dst, _, nblocks = rows(frame, out)
        if src.shape[1] % 2 == 0 and np.little_endian:
            lut(src.view(np.uint16), self.pairs, nblocks, dst.view(np.uint16))
        else:
            lut(src, self.table, nblocks, dst)
        return out


@njit(parallel=True, cache=True)
def lut(src, table, nblocks, out):
    """``out = table[src]`` for every element (uint8 or uint16 elements and table)."""
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            for x in range(s.shape[0]):
                o[x] = table[s[x]]


@njit(parallel=True, cache=True)
def invert(src, nblocks, out):
    """``out = 255 - src``."""
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            for x in range(s.shape[0]):
                o[x] = np.uint8(255) - s[x]


@njit(parallel=True, cache=True)
def gray3(src, nblocks, out):
    """The gray of each BGR pixel, written to its three channels."""
    width = src.shape[1] // 3
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            for x in range(width):
                v = gray_of(np.int32(s[3 * x]), np.int32(s[3 * x + 1]), np.int32(s[3 * x + 2]))
                o[3 * x] = v
                o[3 * x + 1] = v
                o[3 * x + 2] = v


def colour_planes(frame, nblocks):
    """The per-block row planes :func:`gray_blend` and :func:`color_matrix` take: (nblocks, 6,
    W) uint8, reused per thread (:func:`~camfx.kernels.scratch.scratch`)."""
    return scratch("colour-matrix-planes", (nblocks, 6, frame.shape[1]), np.dtype(np.uint8))


@njit(cache=True, inline="always")
def _split(s, width, pb, pg, pr):
    """A BGR row's pixels into three planes."""
    for x in range(width):
        pb[x], pg[x], pr[x] = s[3 * x], s[3 * x + 1], s[3 * x + 2]


@njit(cache=True, inline="always")
def _join(ob, og, orr, width, o):
    """Three planes back into a BGR row."""
    for x in range(width):
        o[3 * x], o[3 * x + 1], o[3 * x + 2] = ob[x], og[x], orr[x]


@njit(parallel=True, cache=True)
def gray_blend(src, channels, a, g, c, planes, nblocks, out):
    """``out = saturate(a * f + g * gray(f) + c)`` per channel, in float32 (``gray`` of a gray
    frame is the frame). ``planes`` (nblocks, 6, W) uint8: BGR rows are split into planes and
    joined again after, as in :func:`color_matrix`."""
    width = src.shape[1] // channels
    a, g, c = np.float32(a), np.float32(g), np.float32(c)
    for b in prange(nblocks):
        pb, pg, pr, ob, og, orr = planes[b, 0], planes[b, 1], planes[b, 2], planes[b, 3], planes[b, 4], planes[b, 5]
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            if channels == 1:
                for x in range(width):
                    o[x] = saturate((a + g) * np.float32(s[x]) + c)
                continue
            _split(s, width, pb, pg, pr)
            for x in range(width):
                k = g * np.float32(gray_of(np.int32(pb[x]), np.int32(pg[x]), np.int32(pr[x]))) + c
                ob[x] = saturate(a * np.float32(pb[x]) + k)
                og[x] = saturate(a * np.float32(pg[x]) + k)
                orr[x] = saturate(a * np.float32(pr[x]) + k)
            _join(ob, og, orr, width, o)


# cv2.transform's fixed point for uint8 frames: weights in 1/1024ths (rounded), sums rounded by
# adding half and shifting. Using it too makes camfx's result bit-exact with OpenCV's.
MATRIX_BITS = 10


def matrix_weights(m):
    """The (3, 3) int32 fixed-point weights :func:`color_matrix` takes for a float matrix."""
    return np.rint(np.asarray(m, np.float64) * (1 << MATRIX_BITS)).astype(np.int32)


@njit(cache=True, inline="always")
def _fixed(v):
    return np.uint8(min(max((v + (1 << (MATRIX_BITS - 1))) >> MATRIX_BITS, 0), 255))


@njit(parallel=True, cache=True)
def color_matrix(src, channels, w, planes, nblocks, out):
    """``out = saturate(m @ (B, G, R))`` per pixel, as ``cv2.transform`` computes it for uint8
    (bit-exact): ``w`` (3, 3) int32 from :func:`matrix_weights`, rows for the output's B, G, R.
    A gray pixel is ``(g, g, g)``, its output the gray of the result. ``planes`` (nblocks, 6, W)
    uint8: each BGR row is split into planes first and joined again after, so the arithmetic
    runs on plain arrays (1.2x faster than on the interleaved row)."""
    width = src.shape[1] // channels
    w00, w01, w02 = np.int32(w[0, 0]), np.int32(w[0, 1]), np.int32(w[0, 2])
    w10, w11, w12 = np.int32(w[1, 0]), np.int32(w[1, 1]), np.int32(w[1, 2])
    w20, w21, w22 = np.int32(w[2, 0]), np.int32(w[2, 1]), np.int32(w[2, 2])
    for b in prange(nblocks):
        pb, pg, pr, ob, og, orr = planes[b, 0], planes[b, 1], planes[b, 2], planes[b, 3], planes[b, 4], planes[b, 5]
        for y in block_rows(b, nblocks, src.shape[0]):
            s, o = src[y], out[y]
            if channels == 1:
                for x in range(width):
                    v = np.int32(s[x])
                    o[x] = gray_of(np.int32(_fixed((w00 + w01 + w02) * v)), np.int32(_fixed((w10 + w11 + w12) * v)),
                                   np.int32(_fixed((w20 + w21 + w22) * v)))
                continue
            _split(s, width, pb, pg, pr)
            for x in range(width):
                p, q, r = np.int32(pb[x]), np.int32(pg[x]), np.int32(pr[x])
                ob[x] = _fixed(w00 * p + w01 * q + w02 * r)
                og[x] = _fixed(w10 * p + w11 * q + w12 * r)
                orr[x] = _fixed(w20 * p + w21 * q + w22 * r)
            _join(ob, og, orr, width, o)


@njit(parallel=True, cache=True)
def radial_gain(src, column_gain, centre_y, row_factor, nblocks, out):
    """``out = saturate(f * (column_gain[x] - row_factor * (y - centre_y)**2))``: a gain whose
    row and column parts add up (the vignette's ``1 - k * (dx**2 + dy**2)``), in float32."""
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, src.shape[0]):
            dy = np.float32(y - centre_y)
            row_term = np.float32(row_factor) * dy * dy
            s, o = src[y], out[y]
            for x in range(s.shape[0]):
                o[x] = saturate(np.float32(s[x]) * (column_gain[x] - row_term))
