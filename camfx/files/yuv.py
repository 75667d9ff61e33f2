"""8-bit planar YUV to BGR and back, rounded, so that a video read and written again with no
filter comes back as it went in.

swscale (FFmpeg's converter) truncates on its fast paths, which made a round trip about two
levels darker; its rounding paths interpolate chroma up with a filter that its 2x2 averaging
down does not undo, which blurred colour by about a level more. Here each chroma sample is
repeated over the pixels it covers on the way in and averaged over them on the way out, and
every value is rounded once, so the round trip gives back the same planes within rounding.

The matrices are the standard ones: with luma weights ``Kr``, ``Kb`` (``Kg = 1 - Kr - Kb``),
``Y = Kr R + Kg G + Kb B``, ``Pb = (B - Y) / (2 (1 - Kb))``, ``Pr = (R - Y) / (2 (1 - Kr))``
(ITU-R BT.601, BT.709, BT.2020 alike), stored as ``16 + 219 Y`` and ``128 + 224 P`` in limited
range, ``255 Y`` and ``128 + 255 P`` in full range.
"""
import numpy as np
from numba import njit

# AVColorSpace code -> (Kr, Kb): BT.709, FCC, BT.470 BG and SMPTE 170M (both BT.601), SMPTE 240M, BT.2020.
LUMA_WEIGHTS = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114),
                7: (0.212, 0.087), 9: (0.2627, 0.0593)}
SHIFT = 16  # fixed point: 16 fractional bits, sums of four 8-bit pixels times a weight fit in int32
# Pixel formats converted here: 8-bit planar YUV, by (chroma width shift, chroma height shift).
PLANAR = {"yuv420p": (1, 1), "yuvj420p": (1, 1), "yuv422p": (1, 0), "yuvj422p": (1, 0),
          "yuv444p": (0, 0), "yuvj444p": (0, 0)}


# 10- and 12-bit planar YUV (HDR video), read as floating-point R'G'B' for tone mapping.
DEEP = {"yuv420p10le": (1, 1, 10), "yuv422p10le": (1, 0, 10), "yuv444p10le": (0, 0, 10),
        "yuv420p12le": (1, 1, 12), "yuv422p12le": (1, 0, 12), "yuv444p12le": (0, 0, 12)}


def _scales(full_range, bits=8):
    """(luma offset, luma scale, chroma scale) of a range (True: full) at a bit depth."""
    if full_range:
        return 0.0, 2.0 ** bits - 1, 2.0 ** bits - 1
    step = 2.0 ** (bits - 8)
    return 16.0 * step, 219.0 * step, 224.0 * step


def _decode_matrix(matrix, full_range, bits=8, top=255.0):
    """Per code: B, G, R = sum of (Y - y0) a + (Cb - mid) b + (Cr - mid) c, in units where white
    is ``top``, as (3, 3) rows [a, b, c] for B, G, R, and y0."""
    kr, kb = LUMA_WEIGHTS[matrix]
    kg = 1 - kr - kb
    y0, ys, cs = _scales(full_range, bits)
    k = top / ys
    c = top / cs
    rows = [[k, c * 2 * (1 - kb), 0.0],                                            # B = Y + 2(1-Kb) Pb
            [k, -c * 2 * (1 - kb) * kb / kg, -c * 2 * (1 - kr) * kr / kg],         # G = (Y - Kr R - Kb B) / Kg
            [k, 0.0, c * 2 * (1 - kr)]]                                            # R = Y + 2(1-Kr) Pr
    return np.array(rows, np.float32), np.float32(y0)


def _encode_matrix(matrix, full_range):
    """(3, 3) rows giving Y, Cb, Cr (before their offsets) from B, G, R in 0-255, and the offsets."""
    kr, kb = LUMA_WEIGHTS[matrix]
    kg = 1 - kr - kb
    y0, ys, cs = _scales(full_range)
    y = np.array([kb, kg, kr]) * ys / 255
    pb = (np.array([1, 0, 0]) - np.array([kb, kg, kr])) / (2 * (1 - kb)) * cs / 255
    pr = (np.array([0, 0, 1]) - np.array([kb, kg, kr])) / (2 * (1 - kr)) * cs / 255
    return np.array([y, pb, pr], np.float32), np.array([y0, 128, 128], np.float32)


def to_bgr(frame, matrix, full_range):
    """A decoded 8-bit planar YUV ``av.VideoFrame`` (a format in ``PLANAR``) as BGR uint8
    (H, W, 3), each chroma sample repeated over the pixels it covers."""
    sx, sy = PLANAR[frame.format.name]
    sizes = [(frame.width, frame.height)] + [(-(-frame.width >> sx), -(-frame.height >> sy))] * 2
    y, u, v = (_plane(frame.planes[i], w, h) for i, (w, h) in enumerate(sizes))
    out = np.empty((frame.height, frame.width * 3), np.uint8)
    rows, y0 = _decode_matrix(matrix, full_range)
    fixed = np.round(rows * (1 << SHIFT)).astype(np.int32)
    _yuv_to_bgr(y, u, v, sx, sy, fixed[0, 0], fixed[0, 1], -fixed[1, 1], -fixed[1, 2], fixed[2, 2],
                np.int32(y0), out)
    return out.reshape(frame.height, frame.width, 3)


def to_rgb_float(frame, matrix, full_range):
    """A decoded 10- or 12-bit planar YUV ``av.VideoFrame`` (a format in ``DEEP``) as its
    non-linear R'G'B' signal, float32 (H, W, 3) in RGB order, 0 to 1 (not clipped)."""
    sx, sy, bits = DEEP[frame.format.name]
    sizes = [(frame.width, frame.height)] + [(-(-frame.width >> sx), -(-frame.height >> sy))] * 2
    y, u, v = (_plane(frame.planes[i], w, h, np.uint16) for i, (w, h) in enumerate(sizes))
    rows, y0 = _decode_matrix(matrix, full_range, bits, top=1.0)
    out = np.empty((frame.height, frame.width, 3), np.float32)
    _yuv_to_rgb_float(y, u, v, sx, sy, rows[::-1].copy(), y0, np.float32(2 ** (bits - 1)), out)
    return out


def to_yuv420(image, matrix, full_range):
    """BGR uint8 (H, W, 3), H and W even, as yuv420p planes (H * 3 / 2, W), as ``av.VideoFrame``'s
    ``from_ndarray(..., format="yuv420p")`` takes them: each chroma sample the mean of its 2x2
    pixels' chroma."""
    height, width = image.shape[:2]
    out = np.empty((height * 3 // 2, width), np.uint8)
    rows, offsets = _encode_matrix(matrix, full_range)
    fixed = np.round(rows * (1 << SHIFT)).astype(np.int32)
    chroma = out[height:].reshape(2, height // 2, width // 2)
    _bgr_to_yuv420(np.ascontiguousarray(image).reshape(height, width * 3), width, fixed,
                   offsets.astype(np.int32), out[:height], chroma[0], chroma[1])
    return out


def _plane(plane, width, height, dtype=np.uint8):
    """A plane's samples as a (height, width) view of its buffer (rows are ``line_size`` bytes
    apart)."""
    size = np.dtype(dtype).itemsize
    return np.frombuffer(plane, dtype).reshape(-1, plane.line_size // size)[:height, :width]


@njit(cache=True, nogil=True)
def _yuv_to_rgb_float(y, u, v, sx, sy, rows, y0, mid, out):
    for r in range(out.shape[0]):
        cr = r >> sy
        for c in range(out.shape[1]):
            luma = np.float32(y[r, c]) - y0
            cb = np.float32(u[cr, c >> sx]) - mid
            ck = np.float32(v[cr, c >> sx]) - mid
            for k in range(3):
                out[r, c, k] = rows[k, 0] * luma + rows[k, 1] * cb + rows[k, 2] * ck


@njit(cache=True, nogil=True)
def _yuv_to_bgr(y, u, v, sx, sy, cy, cbu, cgu, cgv, crv, y0, out):
    """BGR rows ``out`` (H, W*3) from planes ``y``, ``u``, ``v`` whose chroma is subsampled by
    2**sx across and 2**sy down; B = cy (Y - y0) + cbu (U - 128), G = cy (Y - y0) - cgu (U - 128)
    - cgv (V - 128), R = cy (Y - y0) + crv (V - 128), all in 16.16 fixed point. The pixels that
    share a chroma sample share its terms (one pass over a pair of pixels: 15x faster than one
    float pixel at a time)."""
    height, width = y.shape
    half = np.int32(1 << (SHIFT - 1))
    pairs = width // 2 if sx else 0
    for r in range(height):
        yr, ur, vr, o = y[r], u[r >> sy], v[r >> sy], out[r]
        # Pixels in pairs that share a chroma sample (4:2:x); loops of a fixed count and no
        # helper function (an inlined helper for the store made this loop 5x slower).
        for i in range(pairs):
            cb = np.int32(ur[i]) - 128
            cr = np.int32(vr[i]) - 128
            db = cbu * cb + half
            dg = half - cgu * cb - cgv * cr
            dr = crv * cr + half
            for j in range(2):
                x = 2 * i + j
                luma = (np.int32(yr[x]) - y0) * cy
                o[3 * x] = min(max((luma + db) >> SHIFT, 0), 255)
                o[3 * x + 1] = min(max((luma + dg) >> SHIFT, 0), 255)
                o[3 * x + 2] = min(max((luma + dr) >> SHIFT, 0), 255)
        for x in range(2 * pairs, width):  # 4:4:4, or the last pixel of an odd width
            c = x >> 1 if sx else x
            cb = np.int32(ur[c]) - 128
            cr = np.int32(vr[c]) - 128
            luma = (np.int32(yr[x]) - y0) * cy + half
            o[3 * x] = min(max((luma + cbu * cb) >> SHIFT, 0), 255)
            o[3 * x + 1] = min(max((luma - cgu * cb - cgv * cr) >> SHIFT, 0), 255)
            o[3 * x + 2] = min(max((luma + crv * cr) >> SHIFT, 0), 255)


@njit(cache=True, nogil=True)
def _bgr_to_yuv420(src, width, rows, offsets, y, u, v):
    """yuv420p planes from BGR rows ``src`` (H, W*3), H and W even: Y per pixel, U and V from
    the sums of B, G and R over each 2x2 block; ``rows`` (3, 3) in 16.16 fixed point, as
    :func:`_encode_matrix` gives them, ``offsets`` the planes' offsets, each value rounded once."""
    half = np.int32(1 << (SHIFT - 1))
    y_bias = (offsets[0] << SHIFT) + half
    c_half = np.int32(1 << (SHIFT + 1))  # half of the 2x2 sums' unit
    u_bias = (offsets[1] << (SHIFT + 2)) + c_half
    v_bias = (offsets[2] << (SHIFT + 2)) + c_half
    yb, yg, yr = rows[0, 0], rows[0, 1], rows[0, 2]
    ub, ug, ur = rows[1, 0], rows[1, 1], rows[1, 2]
    vb, vg, vr = rows[2, 0], rows[2, 1], rows[2, 2]
    for p in range(src.shape[0] // 2):
        s0, s1 = src[2 * p], src[2 * p + 1]
        y0, y1, up, vp = y[2 * p], y[2 * p + 1], u[p], v[p]
        for i in range(width // 2):
            a, c = 6 * i, 6 * i + 3
            b00, g00, r00 = np.int32(s0[a]), np.int32(s0[a + 1]), np.int32(s0[a + 2])
            b01, g01, r01 = np.int32(s0[c]), np.int32(s0[c + 1]), np.int32(s0[c + 2])
            b10, g10, r10 = np.int32(s1[a]), np.int32(s1[a + 1]), np.int32(s1[a + 2])
            b11, g11, r11 = np.int32(s1[c]), np.int32(s1[c + 1]), np.int32(s1[c + 2])
            y0[2 * i] = min(max((yb * b00 + yg * g00 + yr * r00 + y_bias) >> SHIFT, 0), 255)
            y0[2 * i + 1] = min(max((yb * b01 + yg * g01 + yr * r01 + y_bias) >> SHIFT, 0), 255)
            y1[2 * i] = min(max((yb * b10 + yg * g10 + yr * r10 + y_bias) >> SHIFT, 0), 255)
            y1[2 * i + 1] = min(max((yb * b11 + yg * g11 + yr * r11 + y_bias) >> SHIFT, 0), 255)
            b = b00 + b01 + b10 + b11
            g = g00 + g01 + g10 + g11
            r = r00 + r01 + r10 + r11
            up[i] = min(max((ub * b + ug * g + ur * r + u_bias) >> (SHIFT + 2), 0), 255)
            vp[i] = min(max((vb * b + vg * g + vr * r + v_bias) >> (SHIFT + 2), 0), 255)
