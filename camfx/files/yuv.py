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
    y, u, v = (_plane(frame.planes[i], w, h) for i, (w, h) in
               enumerate([(frame.width, frame.height)] + [(-(-frame.width >> sx), -(-frame.height >> sy))] * 2))
    out = np.empty((frame.height, frame.width, 3), np.uint8)
    rows, y0 = _decode_matrix(matrix, full_range)
    _yuv_to_bgr(y, u, v, sx, sy, rows, y0, out)
    return out


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
    chroma = out[height:].reshape(2, height // 2, width // 2)
    _bgr_to_yuv420(np.ascontiguousarray(image), rows, offsets, out[:height], chroma[0], chroma[1])
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
def _yuv_to_bgr(y, u, v, sx, sy, rows, y0, out):
    for r in range(out.shape[0]):
        cr = r >> sy
        for c in range(out.shape[1]):
            luma = np.float32(y[r, c]) - y0
            cb = np.float32(u[cr, c >> sx]) - np.float32(128)
            ck = np.float32(v[cr, c >> sx]) - np.float32(128)
            for k in range(3):
                value = rows[k, 0] * luma + rows[k, 1] * cb + rows[k, 2] * ck + np.float32(0.5)
                out[r, c, k] = np.uint8(min(max(value, np.float32(0)), np.float32(255)))


@njit(cache=True, nogil=True)
def _bgr_to_yuv420(image, rows, offsets, y, u, v):
    half = np.float32(0.5)
    for r in range(0, image.shape[0], 2):
        for c in range(0, image.shape[1], 2):
            cb = np.float32(0)
            ck = np.float32(0)
            for dr in range(2):
                for dc in range(2):
                    b = np.float32(image[r + dr, c + dc, 0])
                    g = np.float32(image[r + dr, c + dc, 1])
                    red = np.float32(image[r + dr, c + dc, 2])
                    luma = rows[0, 0] * b + rows[0, 1] * g + rows[0, 2] * red + offsets[0] + half
                    y[r + dr, c + dc] = np.uint8(min(max(luma, np.float32(0)), np.float32(255)))
                    cb += rows[1, 0] * b + rows[1, 1] * g + rows[1, 2] * red
                    ck += rows[2, 0] * b + rows[2, 1] * g + rows[2, 2] * red
            cb = cb * np.float32(0.25) + offsets[1] + half
            ck = ck * np.float32(0.25) + offsets[2] + half
            u[r >> 1, c >> 1] = np.uint8(min(max(cb, np.float32(0)), np.float32(255)))
            v[r >> 1, c >> 1] = np.uint8(min(max(ck, np.float32(0)), np.float32(255)))
