"""Matting kernels for background effects: a blur of the background alone at a low resolution,
and the composite of the frame over a background through a soft person mask, both upsampled on
the fly so that no full-size mask or background is ever written.

Frames are seen as ``(H, W * C)`` rows, as in :mod:`.rows`; hot loops run over a bare
``range(n)`` into slice views that start at 0, so LLVM vectorises them.
"""
import numpy as np
from numba import njit, prange

from .borders import REFLECT101, border_index
from .rows import block_rows


def bilinear_table(n_out, n_in, scale=None):
    """Where each of ``n_out`` output positions reads from an axis of ``n_in`` samples when
    resizing linearly, with pixel centres aligned as ``cv2.resize(..., INTER_LINEAR)`` aligns
    them: ``src = (i + 0.5) * scale - 0.5``, clamped to the axis; ``scale`` is ``n_in / n_out``
    unless given (``1 / factor`` for an axis that :func:`background_blur` shrank by ``factor``,
    its last sample averaging fewer pixels).

    Returns
    -------
    (i0, i1, f) : int32, int32, float32 arrays of length ``n_out``
        Output ``i`` is ``(1 - f[i]) * s[i0[i]] + f[i] * s[i1[i]]``.
    """
    scale = n_in / n_out if scale is None else scale
    src = np.clip((np.arange(n_out) + 0.5) * scale - 0.5, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int32)
    i1 = np.minimum(i0 + 1, n_in - 1).astype(np.int32)
    return i0, i1, (src - i0).astype(np.float32)


def shrunk(n, factor):
    """The length of an axis of ``n`` pixels shrunk by ``factor``: the last sample averages the
    pixels left over."""
    return -(-n // factor)


@njit(parallel=True, cache=True)
def background_blur(frame, channels, factor, mask, mask_y, mask_x, low, high, floor, column, row,
                    nblocks, weighted, out):
    """The frame's background, blurred at a lower resolution: a normalised convolution
    ``out = G * (weight * small) / G * weight`` per channel, where ``small`` is the frame
    area-averaged over ``factor`` x ``factor`` blocks, G the separable Gaussian
    ``outer(column, row)`` (float32 taps, odd lengths, reflect101 borders) and ``weight = 1 +
    floor - alpha``, alpha the person mask's soft edge (as in :func:`composite`) at that
    resolution. The person's pixels then add little to their neighbours' blur, so their colours
    do not bleed into the background as a halo.

    frame : (H, W * channels) uint8
    mask : (mh, mw) float32 person probability; mask_y, mask_x its :func:`bilinear_table` to the
        small size (h, w) = (shrunk(H, factor), shrunk(W, factor))
    weighted : (h, w * (channels + 1)) float32 scratch
    out : (h, w * channels) uint8
    """
    height, width = frame.shape[0], frame.shape[1] // channels
    small_h, small_w = out.shape[0], out.shape[1] // channels
    stride = channels + 1
    my0, my1, mfy = mask_y
    mx0, mx1, mfx = mask_x
    scale = np.float32(1.0 / (high - low))
    zero, one, two, three = np.float32(0), np.float32(1), np.float32(2), np.float32(3)
    for b in prange(nblocks):  # area average, weight, premultiply: (w*b, w*g, w*r, w) per pixel
        sums = np.empty(width * channels, np.uint16)  # factor <= 257 rows of 255 fit
        for y in block_rows(b, nblocks, small_h):
            top, bottom = y * factor, min(y * factor + factor, height)
            sums[:] = 0
            for sy in range(top, bottom):
                s = frame[sy]
                for x in range(width * channels):
                    sums[x] += np.uint16(s[x])
            f = mfy[y]
            m0, m1, p = mask[my0[y]], mask[my1[y]], weighted[y]
            for x in range(small_w):
                left, right = x * factor, min(x * factor + factor, width)
                a0 = m0[mx0[x]] + f * (m1[mx0[x]] - m0[mx0[x]])
                a1 = m0[mx1[x]] + f * (m1[mx1[x]] - m0[mx1[x]])
                t = min(max((a0 + mfx[x] * (a1 - a0) - np.float32(low)) * scale, zero), one)
                w = one + np.float32(floor) - t * t * (three - two * t)
                wscale = w / np.float32((right - left) * (bottom - top))
                if channels == 3:  # the camera's case, unrolled: 2.5x faster than the loop below
                    blue = green = red = zero
                    for sx in range(left, right):
                        blue += np.float32(sums[3 * sx])
                        green += np.float32(sums[3 * sx + 1])
                        red += np.float32(sums[3 * sx + 2])
                    p[4 * x], p[4 * x + 1], p[4 * x + 2] = blue * wscale, green * wscale, red * wscale
                else:
                    for c in range(channels):
                        acc = zero
                        for sx in range(left, right):
                            acc += np.float32(sums[sx * channels + c])
                        p[x * stride + c] = acc * wscale
                p[x * stride + channels] = w
    kh, kw = column.shape[0], row.shape[0]
    rx = kw // 2
    length = small_w * stride
    for b in prange(nblocks):
        vertical = np.empty(length, np.float32)
        padded = np.empty(length + 2 * rx * stride, np.float32)
        horizontal = np.empty(length, np.float32)
        for y in block_rows(b, nblocks, small_h):
            vertical[:] = 0
            for i in range(kh):
                w = column[i]
                a = weighted[border_index(y + i - kh // 2, small_h, REFLECT101)]
                for x in range(length):
                    vertical[x] += w * a[x]
            # Reflect101 padding of the row, then every horizontal tap is a plain offset.
            padded[rx * stride:rx * stride + length] = vertical
            for k in range(rx):
                left = border_index(k - rx, small_w, REFLECT101)
                right = border_index(small_w + k, small_w, REFLECT101)
                for c in range(stride):
                    padded[k * stride + c] = vertical[left * stride + c]
                    padded[(rx + small_w + k) * stride + c] = vertical[right * stride + c]
            horizontal[:] = 0
            for j in range(kw):
                w = row[j]
                a = padded[j * stride:j * stride + length]
                for x in range(length):
                    horizontal[x] += w * a[x]
            o = out[y]
            for x in range(small_w):
                inverse = one / horizontal[x * stride + channels]
                for c in range(channels):
                    o[x * channels + c] = np.uint8(min(horizontal[x * stride + c] * inverse + np.float32(0.5), 255.0))


@njit(parallel=True, cache=True)
def composite(frame, mask, mask_y, background, back_y, low, high, nblocks, out):
    """``out = B + alpha * (frame - B)`` with ``alpha = smoothstep(low, high, M)``, where M and B
    are ``mask`` and ``background`` resized linearly to the frame's height on the fly (their
    rows are already as wide as the frame's: resizing them in width first is OpenCV's
    ``resize`` at its fastest, and leaves only a few rows to do).

    frame, out : (H, W * C) uint8
    mask : (mh, L) float32, person probability in [0, 1], repeated over the channels, L >= W * C
    background : (bh, L) uint8, L >= W * C, any number of rows (a single row is a plain colour)
        (Rows longer than the frame's are read up to its width: a background shrunk by an
        integer factor comes back a little wider than the frame.)
    mask_y, back_y : :func:`bilinear_table` of the height, as (i0, i1, f)
    low, high : float, ``low < high``; mask values at or below ``low`` show the background only,
        at or above ``high`` the frame only, with the smoothstep ``3t^2 - 2t^3`` between.
    """
    height, length = frame.shape
    my0, my1, mfy = mask_y
    by0, by1, bfy = back_y
    scale = np.float32(1.0 / (high - low))
    low32 = np.float32(low)
    zero, one, two, three, half = np.float32(0), np.float32(1), np.float32(2), np.float32(3), np.float32(0.5)
    for b in prange(nblocks):
        for y in block_rows(b, nblocks, height):
            mf, bf = mfy[y], bfy[y]
            m0, m1 = mask[my0[y]], mask[my1[y]]
            b0, b1 = background[by0[y]], background[by1[y]]
            src, o = frame[y], out[y]
            for x in range(length):
                m = m0[x] + mf * (m1[x] - m0[x])
                t = min(max((m - low32) * scale, zero), one)
                a = t * t * (three - two * t)
                back = np.float32(b0[x]) + bf * (np.float32(b1[x]) - np.float32(b0[x]))
                o[x] = np.uint8(back + a * (np.float32(src[x]) - back) + half)
