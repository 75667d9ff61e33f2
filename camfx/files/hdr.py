"""HDR video (BT.2100: BT.2020 primaries, PQ or HLG transfer) tone-mapped to SDR BT.709.

camfx filters 8-bit pictures, shows them in an SDR window and writes 8-bit H.264, so an HDR file
is brought into SDR once, as it is read, the same for ``camfx process`` and ``camfx live``; the
output is tagged BT.709 and says what it is. Per pixel:

1. The signal to display light in nits: PQ by SMPTE ST 2084's EOTF; HLG by BT.2100's inverse
   OETF and its OOTF for a display of ``peak`` nits (system gamma 1.2 + 0.42 log10(peak/1000)).
2. Light in units of BT.2408's HDR reference white, 203 nits.
3. BT.2020 to BT.709 primaries in linear light (BT.2087's matrix); colours outside BT.709 are
   clipped.
4. Highlights compressed on the brightest channel (hue kept): linear up to ``KNEE`` (0.75 of
   that unit), then an extended Reinhard curve that takes ``peak`` to SDR white (1.0) exactly.
5. Encoded for an SDR display with BT.1886's gamma 2.4 and rounded to 8 bits, full range.

The curves are tables (4097 entries, linearly interpolated) so that a 4K frame costs a few
table reads per pixel instead of several ``pow`` calls.
"""
import math
import struct
from functools import lru_cache

import numpy as np
from numba import njit

PQ, HLG = 16, 18  # AVColorTransferCharacteristic: SMPTE ST 2084, ARIB STD-B67
SDR_WHITE = 203.0  # nits: BT.2408's HDR reference white, the unit of light before the highlights are compressed
KNEE = 0.75  # below this (in units of SDR_WHITE) light is kept as it is
DEFAULT_PEAK = 1000.0  # nits: HLG's nominal display peak, and a PQ file's when it says nothing
TABLE = 4096
# BT.2087: linear BT.2020 RGB to linear BT.709 RGB.
BT2020_TO_BT709 = np.array([[1.6605, -0.5876, -0.0728],
                            [-0.1246, 1.1329, -0.0083],
                            [-0.0182, -0.1006, 1.1187]], np.float32)


def pq_to_nits(signal):
    """SMPTE ST 2084 EOTF: a PQ signal in [0, 1] to display light in nits (0-10000)."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = np.power(np.asarray(signal, np.float64), 1 / m2)
    return 10000 * np.power(np.maximum(p - c1, 0) / (c2 - c3 * p), 1 / m1)


def hlg_to_scene(signal):
    """BT.2100 HLG inverse OETF: a signal in [0, 1] to relative scene light in [0, 1]."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    e = np.asarray(signal, np.float64)
    return np.where(e <= 0.5, e * e / 3, (np.exp((np.maximum(e, 0.5) - c) / a) + b) / 12)


def hlg_gamma(peak):
    """BT.2100's HLG system gamma for a display of ``peak`` nits."""
    return 1.2 + 0.42 * math.log10(peak / 1000)


def peak_luminance(frame, transfer):
    """``frame``: a :class:`camfx.files.picture.FrameInfo`. The brightest light the HDR video holds, in nits: its content light level (MaxCLL), else
    its mastering display's peak, else 1000. HLG is always shown on a nominal 1000-nit display."""
    if transfer == HLG:
        return DEFAULT_PEAK
    cll = mastering = None
    side_data = frame.side_data  # {type name: bytes}
    if "CONTENT_LIGHT_LEVEL" in side_data:  # AVContentLightMetadata: MaxCLL, MaxFALL
        cll = struct.unpack("<II", side_data["CONTENT_LIGHT_LEVEL"][:8])[0]
    raw = side_data.get("MASTERING_DISPLAY_METADATA", b"")
    if len(raw) >= 88:  # AVMasteringDisplayMetadata: ..., max_luminance at 72, has_luminance at 84
        num, den = struct.unpack("<ii", raw[72:80])
        if struct.unpack("<i", raw[84:88])[0] and den:
            mastering = num / den
    for nits in (cll, mastering):
        if nits and nits > SDR_WHITE:
            return float(nits)
    return DEFAULT_PEAK


@lru_cache(maxsize=8)
def _tables(transfer, peak):
    """(signal -> linear light, sqrt of luminance -> HLG OOTF gain, sqrt of light -> 8-bit SDR),
    each sampled at TABLE + 1 evenly spaced points."""
    x = np.linspace(0, 1, TABLE + 1)
    if transfer == PQ:
        decode = pq_to_nits(x) / SDR_WHITE
        gain = np.ones_like(x)
    else:
        decode = hlg_to_scene(x)
        luminance = np.maximum(x * x, 1e-12)
        gain = peak * np.power(luminance, hlg_gamma(peak) - 1) / SDR_WHITE  # OOTF: peak * Ys^(gamma-1) * E
    encode = np.power(x * x, 1 / 2.4) * 255
    return tuple(np.ascontiguousarray(t, np.float32) for t in (decode, gain, encode))


def tone_map(rgb, transfer, peak):
    """HDR R'G'B' to SDR BGR (see the module).

    Parameters
    ----------
    rgb : ndarray, float32, (H, W, 3)
        The non-linear BT.2020 signal, RGB order, 0 to 1 (swscale's ``gbrpf32le``).
    transfer : int
        ``PQ`` (16) or ``HLG`` (18).
    peak : float
        The brightest light in nits (:func:`peak_luminance`); it becomes SDR white.

    Returns
    -------
    ndarray, uint8, (H, W, 3)
        BGR, full range 0-255, BT.709 primaries, for a gamma-2.4 display.
    """
    decode, gain, encode = _tables(transfer, float(peak))
    top = max(peak / SDR_WHITE, 1.0)
    w = (top - KNEE) / (1 - KNEE) if top > 1 else 1.0
    out = np.empty(rgb.shape, np.uint8)
    _tone_map(np.ascontiguousarray(rgb, np.float32), out, decode, gain, encode, transfer == HLG,
              BT2020_TO_BT709, np.float32(KNEE), np.float32(w * w), top > 1)
    return out


@njit(cache=True, inline="always")
def _lookup(table, x):
    """``table`` sampled evenly on [0, 1], at ``x`` (clamped), linearly interpolated."""
    n = table.shape[0] - 1
    f = min(max(x, np.float32(0)), np.float32(1)) * n
    i = min(int(f), n - 1)
    t = f - i
    return table[i] * (np.float32(1) - t) + table[i + 1] * t


@njit(cache=True, inline="always")
def _compress(m, knee, w2):
    """Extended Reinhard above the knee, scaled so that light ``w`` above it lands on 1."""
    if m <= knee:
        return m
    e = (m - knee) / (np.float32(1) - knee)
    return knee + (np.float32(1) - knee) * e * (np.float32(1) + e / w2) / (np.float32(1) + e)


@njit(cache=True, nogil=True)
def _tone_map(rgb, out, decode, gain, encode, hlg, matrix, knee, w2, compress):
    # One thread: it runs in the reader's thread, beside the filters' and the encoder's threads.
    height, width = rgb.shape[0], rgb.shape[1]
    zero, one = np.float32(0), np.float32(1)
    for y in range(height):
        for x in range(width):
            r = _lookup(decode, rgb[y, x, 0])
            g = _lookup(decode, rgb[y, x, 1])
            b = _lookup(decode, rgb[y, x, 2])
            if hlg:  # the OOTF scales by a power of the luminance (BT.2100's weights for BT.2020)
                luminance = np.float32(0.2627) * r + np.float32(0.6780) * g + np.float32(0.0593) * b
                k = _lookup(gain, np.sqrt(luminance))
                r, g, b = r * k, g * k, b * k
            r2 = max(matrix[0, 0] * r + matrix[0, 1] * g + matrix[0, 2] * b, zero)
            g2 = max(matrix[1, 0] * r + matrix[1, 1] * g + matrix[1, 2] * b, zero)
            b2 = max(matrix[2, 0] * r + matrix[2, 1] * g + matrix[2, 2] * b, zero)
            m = max(r2, g2, b2)
            if compress and m > knee:
                s = _compress(m, knee, w2) / m
                r2, g2, b2 = r2 * s, g2 * s, b2 * s
            out[y, x, 2] = np.uint8(_lookup(encode, np.sqrt(min(r2, one))) + np.float32(0.5))
            out[y, x, 1] = np.uint8(_lookup(encode, np.sqrt(min(g2, one))) + np.float32(0.5))
            out[y, x, 0] = np.uint8(_lookup(encode, np.sqrt(min(b2, one))) + np.float32(0.5))
