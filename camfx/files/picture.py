"""How a decoded video frame becomes the picture the filters see, and what the output must say
about it. One place for ``camfx process`` and ``camfx live`` alike, so both show a file the same
way; every step depends on the frame and on the file's first frame only, so the two halves of a
split encode (:mod:`camfx.files.encode`) make the same pictures.

For each decoded frame, in this order:

1. **Size.** A frame of another size than the file's first (a stream that switches resolution)
   is scaled to fit the first size, its aspect kept, centred on black (letterbox).
2. **Colour.** Converted to BGR with the YUV matrix and range the file declares; a file that
   declares none is read as players read it (BT.709 from 720 lines or 1280 columns up, BT.601
   below); 8-bit planar YUV by :mod:`camfx.files.yuv` (rounded, chroma repeated, so that the
   writer's averaging gives it back), other formats by swscale, asked to round. HDR (a PQ or HLG transfer) is tone-mapped to SDR BT.709
   (:mod:`camfx.files.hdr`). A picture with transparency is composited over ``background``.
3. **Orientation.** Turned and mirrored as the file's display matrix says (phones record
   sideways and flag it), so that filters see the picture as a viewer does and the output plays
   upright in every player with no flag at all.

:class:`Colours` says which matrix, range, primaries and transfer the output is to be written
and tagged with.
"""
import struct
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter
from numba import njit

from . import hdr, yuv
from ..errors import CamfxError

# FFmpeg's codes (libavutil/pixfmt.h): AVColorSpace, AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic.
RGB_MATRIX, BT709, UNSPECIFIED, BT470BG, SMPTE170M, BT2020_NCL, BT2020_CL = 0, 1, 2, 5, 6, 9, 10
LIMITED, FULL = 1, 2
BT2020_10 = 14
# The YUV matrices swscale converts exactly (sws_getCoefficients); BT.2020 constant luminance is
# read as non-constant (the difference is in how luma was derived, rarely met outside broadcast).
SWSCALE_MATRICES = {1: 1, 4: 4, 5: 5, 6: 6, 7: 7, 9: 9, 10: 9}
# A matrix's usual primaries and transfer, for a file that names the matrix only.
USUAL_TAGS = {1: (1, 1), 4: (4, 4), 5: (5, 6), 6: (6, 6), 7: (7, 7), 9: (9, BT2020_10)}
# For the formats camfx.files.yuv does not convert: accurate rounding (swscale's default
# truncates, -0.5 level each way); FULL_CHR_H_INT takes YUV->RGB off the fast path that
# ignores ACCURATE_RND.
ACCURATE = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT

BACKGROUNDS = {"black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128), "grey": (128, 128, 128),
               "green": (0, 255, 0), "blue": (255, 0, 0), "red": (0, 0, 255)}
DEFAULT_BACKGROUND = "black"


@dataclass(frozen=True)
class Colours:
    """How the output's YUV is made and tagged: FFmpeg's codes for the matrix (AVColorSpace),
    the range (1 limited 16-235, 2 full 0-255), the primaries and the transfer."""

    matrix: int = BT709
    range: int = LIMITED
    primaries: int = BT709
    transfer: int = BT709


def parse_background(text):
    """A ``--background`` colour as BGR: a name (black, white, gray, green, blue, red) or
    ``#rrggbb``. Raises CamfxError naming the value otherwise."""
    name = str(text).strip().lower()
    if name in BACKGROUNDS:
        return BACKGROUNDS[name]
    digits = name[1:] if name.startswith("#") else name
    if len(digits) == 6:
        try:
            r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
            return (b, g, r)
        except ValueError:
            pass
    raise CamfxError(f"--background must be a colour name ({', '.join(BACKGROUNDS)}) or #rrggbb, got {text!r}")


@dataclass(frozen=True)
class FrameInfo:
    """What a decoded frame says about itself, kept apart from the frame (whose buffers belong
    to its decoder, which may close first): size, pixel format (an ``av.VideoFormat``), colour
    tags (FFmpeg's codes), whether it is interlaced, and its side data by type name."""

    width: int
    height: int
    format: object
    color_range: int
    colorspace: int
    color_primaries: int
    color_trc: int
    interlaced: bool
    side_data: dict

    @classmethod
    def of(cls, frame):
        side_data = {data.type.name: bytes(data) for data in frame.side_data}
        return cls(frame.width, frame.height, frame.format, frame.color_range, frame.colorspace,
                   frame.color_primaries, frame.color_trc, bool(frame.interlaced_frame), side_data)


def display_matrix(info):
    """A frame's display matrix (FFmpeg's AV_FRAME_DATA_DISPLAYMATRIX: nine int32, a b u c d v
    x y w, 16.16 fixed point for a b c d), or None; ``info`` a :class:`FrameInfo`."""
    data = info.side_data.get("DISPLAYMATRIX")
    return struct.unpack("<9i", data[:36]) if data else None


def orientation(matrix):
    """``(turns, mirror)`` that make a frame upright for a display matrix: ``np.rot90(image,
    turns)`` (quarter turns counter-clockwise), then left-right mirrored if ``mirror``; None when
    the matrix is not a multiple of 90 degrees.

    The matrix maps a stored pixel (p, q) to the displayed (a p + c q, b p + d q). A negative
    determinant is a mirror image: mirroring the result left-right negates a and c and leaves a
    pure rotation, whose first row (a, b) tells the quarter turns. Checked against the ffmpeg
    command's own rotation for all eight orientations (tests/test_inputs.py).
    """
    if matrix is None:
        return 0, False
    a, b, c, d = (round(matrix[i] / 65536) for i in (0, 1, 3, 4))
    if any(abs(matrix[i] - v * 65536) > 64 for i, v in zip((0, 1, 3, 4), (a, b, c, d))) or abs(a * d - b * c) != 1:
        return None
    mirror = a * d - b * c < 0
    if mirror:
        a, c = -a, -c
    turns = {(1, 0): 0, (0, -1): 1, (-1, 0): 2, (0, 1): 3}[(a, b)]
    return turns, mirror


def describe_orientation(turns, mirror):
    degrees = {0: 0, 1: 90, 2: 180, 3: 270}[turns]
    turn = f"turned {degrees} degrees counter-clockwise" if degrees else ""
    return " and ".join(part for part in (turn, "mirrored" if mirror else "") if part)


def guess_matrix(width, height):
    """The YUV matrix players assume for a file that names none: BT.709 for HD, BT.601 below
    (625-line, i.e. 576 rows: BT.470 BG; else SMPTE 170M)."""
    if height >= 720 or width >= 1280:
        return BT709
    return BT470BG if height in (576, 288) else SMPTE170M


def _has_alpha(video_format):
    return any(component.is_alpha for component in video_format.components) or video_format.has_palette


class Picture:
    """Turns the decoded frames of one video into upright BGR uint8 pictures (see the module).

    ``first`` is the :class:`FrameInfo` of the file's first decoded frame: its size, colours,
    display matrix and pixel format decide for the whole file. ``sar`` is the stream's sample
    aspect ratio (None: square). ``background`` (BGR) is what transparent pixels become.

    Attributes: ``size`` (width, height) of the pictures, ``sar`` of the pictures, ``colours``
    (:class:`Colours`) for the output, ``notes``: one line per change made to what a player
    would show (turned, tone-mapped), for the user; ``said``: the kinds of warning given, each
    once ("size": a frame of another size, "alpha": the first transparent pixels).
    """

    def __init__(self, first, *, name, sar=None, background=BACKGROUNDS[DEFAULT_BACKGROUND],
                 background_name=DEFAULT_BACKGROUND):
        self.name = name
        self.notes = []
        self.coded = (first.width, first.height)
        matrix = display_matrix(first)
        turn = orientation(matrix)
        if turn is None:
            self.notes.append(f"{name}: the display matrix asks for a rotation that is not a multiple of 90 degrees; "
                              "frames are used as stored")
            turn = (0, False)
        self.turns, self.mirror = turn
        if turn != (0, False):
            self.notes.append(f"{name}: frames are {describe_orientation(*turn)} as the file's display matrix "
                              "says, before filtering (the output is upright without it)")
        sideways = self.turns % 2 == 1
        self.size = self.coded[::-1] if sideways else self.coded
        sar = Fraction(sar) if sar else Fraction(1)
        self.sar = 1 / sar if sideways else sar

        fmt = first.format
        self.alpha = _has_alpha(fmt)
        self.background = np.array(background, np.uint8)
        self._background_name = background_name
        self.interlaced = first.interlaced
        self.transfer = first.color_trc
        self.hdr = self.transfer in (hdr.PQ, hdr.HLG)
        self._src_range = FULL if (first.color_range == FULL or fmt.name.startswith("yuvj")) else LIMITED
        declared = first.colorspace
        if fmt.is_rgb or declared == RGB_MATRIX:
            self._src_matrix = None  # RGB stored: no matrix to undo
        elif declared in SWSCALE_MATRICES:
            self._src_matrix = SWSCALE_MATRICES[declared]
        else:
            self._src_matrix = guess_matrix(*self.coded)
        if self.hdr:
            self.peak = hdr.peak_luminance(first, self.transfer)
            kind = "PQ" if self.transfer == hdr.PQ else "HLG"
            self.colours = Colours()
            self.notes.append(f"{name}: HDR ({kind}, BT.2020) is tone-mapped to SDR BT.709 (light in units of "
                              f"{hdr.SDR_WHITE:g} nits, highlights compressed so that {self.peak:g} nits is white)")
            if self._src_matrix is None or declared not in SWSCALE_MATRICES:
                self._src_matrix = BT2020_NCL
        else:
            out_matrix = self._src_matrix if self._src_matrix is not None else guess_matrix(*self.coded)
            usual_primaries, usual_transfer = USUAL_TAGS[out_matrix]
            primaries = first.color_primaries if first.color_primaries not in (0, UNSPECIFIED) else usual_primaries
            transfer = self.transfer if self.transfer not in (0, UNSPECIFIED) else usual_transfer
            out_range = LIMITED if self._src_matrix is None else self._src_range
            self.colours = Colours(out_matrix, out_range, primaries, transfer)
        self._reformatter = VideoReformatter()
        self.said = set()  # the kinds of warning given once: "size", "alpha"

    def __call__(self, frame, where, warn):
        """The picture of a decoded frame: BGR uint8 (H, W, 3), upright, ``size``. ``where()``
        names the frame for ``warn`` (the first time a frame's size differs)."""
        size = None
        if (frame.width, frame.height) != self.coded:
            size = _fit((frame.width, frame.height), self.coded)
            if "size" not in self.said:
                self.said.add("size")
                warn(f"{self.name}: {where()} is {frame.width}x{frame.height} but the video began at "
                     f"{self.coded[0]}x{self.coded[1]}; it and every later frame of another size are scaled to "
                     f"fit {self.coded[0]}x{self.coded[1]} (aspect kept, black bars)")
        width, height = size or self.coded
        if self.hdr:
            if size is None and frame.format.name in yuv.DEEP:
                rgb = yuv.to_rgb_float(frame, self._src_matrix, self._src_range == FULL)
            else:  # swscale's float output is 0.2 % low for 10-bit input: close, not exact
                rgb = self._reformatter.reformat(frame, width, height, "gbrpf32le", src_colorspace=self._src_matrix,
                                                 src_color_range=self._src_range, interpolation=ACCURATE).to_ndarray()
            image = hdr.tone_map(rgb, self.transfer, self.peak)
        elif self.alpha:
            bgra = self._convert(frame, width, height, "bgra")
            if "alpha" not in self.said and bgra[..., 3].min() < 255:
                self.said.add("alpha")
                warn(f"{self.name}: has transparency (alpha) from {where()} on; composited over "
                     f"{self._background_name}")
            image = np.empty(bgra.shape[:2] + (3,), np.uint8)
            _over(bgra, self.background, image)
        else:
            image = self._convert(frame, width, height, "bgr24")
        if size is not None:
            image = _letterbox(image, self.coded)
        if self.turns:
            image = np.rot90(image, self.turns)
        if self.mirror:
            image = image[:, ::-1]
        return np.ascontiguousarray(image)

    def _convert(self, frame, width, height, format):
        if format == "bgr24" and (width, height) == (frame.width, frame.height) and frame.format.name in yuv.PLANAR:
            return yuv.to_bgr(frame, self._src_matrix, self._src_range == FULL)
        return self._reformatter.reformat(frame, width, height, format, src_colorspace=self._src_matrix,
                                          src_color_range=self._src_range if self._src_matrix else None,
                                          interpolation=ACCURATE).to_ndarray()



@njit(cache=True, nogil=True)
def _over(bgra, background, out):
    """``out`` = the BGRA picture over an opaque ``background`` colour (straight, not
    premultiplied, alpha, as FFmpeg's formats hold it), rounded: (c a + b (255 - a) + 127) // 255.
    One thread: it runs in the reader's thread, beside the filters' and the encoder's (a
    parallel loop was 40x slower on a machine with no core to spare)."""
    for y in range(bgra.shape[0]):
        for x in range(bgra.shape[1]):
            a = np.int32(bgra[y, x, 3])
            for c in range(3):
                out[y, x, c] = (np.int32(bgra[y, x, c]) * a + np.int32(background[c]) * (255 - a) + 127) // 255


def _fit(size, box):
    """The largest size of ``size``'s aspect within ``box``, in whole pixels (at least 1)."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, min(box[0], round(size[0] * scale))), max(1, min(box[1], round(size[1] * scale)))


def _letterbox(image, box):
    """``image`` centred on black in a frame of size ``box``."""
    out = np.zeros((box[1], box[0], 3), np.uint8)
    top, left = (box[1] - image.shape[0]) // 2, (box[0] - image.shape[1]) // 2
    out[top:top + image.shape[0], left:left + image.shape[1]] = image
    return out
