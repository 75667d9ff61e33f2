"""Background blur and replacement without a green screen: a small CNN finds the person
(:mod:`camfx.segmentation`), and the rest of the frame is blurred, or replaced by a colour, a
picture or a looped video."""
import math
import sys
from pathlib import Path

import numba
import numpy as np

from camfx.engine.filter import Filter, odd_ksize
from camfx.errors import CamfxError
from camfx.kernels import matte
from camfx.kernels.rows import row_blocks
from camfx.kernels.scratch import check_out, scratch
from camfx.segmentation import PersonSegmenter

MODES = ("blur", "color", "image")
DEFAULT_MODEL = "selfie_segmentation_landscape"
# The soft edge: mask values (after feathering) at or below EDGE[0] show the background, at or
# above EDGE[1] the person, with a smoothstep between.
EDGE = (0.4, 0.9)
# Temporal smoothing: a mask value that changed by much more than MOTION since the last frame
# is taken as movement and followed at once; smaller changes are flicker and are smoothed.
MOTION = 0.3
# The blur runs at 1/factor of the frame's size, the factor chosen so that the Gaussian left to
# do there still has a sigma of at least this many (low-resolution) pixels.
SMALL_SIGMA = 1.0
# Every pixel keeps this much weight in the background's blur, so that one wholly covered by the
# person still gets a value (which its mask then hides).
WEIGHT_FLOOR = 0.02
MAX_KSIZE = 301


def opencv_sigma(ksize):
    """The sigma ``cv2.GaussianBlur`` derives from ``ksize`` when given none
    (OpenCV's ``getGaussianKernel``: ``0.3 * ((ksize - 1) * 0.5 - 1) + 0.8``)."""
    return 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8


def blur_plan(ksize):
    """How to blur like ``cv2.GaussianBlur(frame, (ksize, ksize), 0)`` fast: ``(factor, sigma)``,
    an area-average downscale by ``factor`` and a Gaussian of ``sigma`` low-resolution pixels
    there, the result upscaled linearly.

    The three steps' variances add up to the Gaussian's: the area average of ``factor`` pixels
    contributes ``(factor**2 - 1) / 12``, the linear upscale ``factor**2 / 6`` (a triangle of
    half-width ``factor``), both in full-resolution pixels squared.
    """
    sigma = opencv_sigma(ksize)
    factor = 1
    while True:
        bigger = factor + 1
        rest = sigma ** 2 - (bigger ** 2 - 1) / 12 - bigger ** 2 / 6
        if rest <= 0 or math.sqrt(rest) / bigger < SMALL_SIGMA:
            break
        factor = bigger
    if factor == 1:
        return 1, sigma
    return factor, math.sqrt(sigma ** 2 - (factor ** 2 - 1) / 12 - factor ** 2 / 6) / factor


def gaussian_taps(sigma):
    """Normalised float32 Gaussian taps, 3 sigma each side."""
    radius = max(1, math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-x * x / (2 * sigma * sigma))
    return (taps / taps.sum()).astype(np.float32)


class Background(Filter):
    """Blur or replace what is behind the person in the frame.

    A CNN (MediaPipe's selfie segmentation, run by OpenCV's DNN module) gives the probability
    that each pixel shows a person. That mask is smoothed over time (still pixels keep part of
    their previous value, so it does not flicker; moving ones follow at once), feathered, and
    resized to the frame on the fly with a soft edge (a smoothstep between mask values 0.4 and
    0.9), so hair and shoulders blend instead of showing a hard cut-out. The person's pixels
    are the frame's own; behind them:

    - ``mode="blur"``: the frame blurred like ``cv2.GaussianBlur(frame, (ksize, ksize), 0)``,
      computed at a lower resolution (see :func:`blur_plan`) and as a normalised convolution
      that leaves the person out, so their colours do not bleed into the blur as a halo;
    - ``mode="color"``: ``color``, a BGR triple (the frames' channel order);
    - ``mode="image"``: the picture or video file ``image`` (a video is looped, one of its frames
      per frame filtered), scaled to cover the frame and cropped to it, centred.

    Parameters
    ----------
    mode : {"blur", "color", "image"}
    ksize : int
        Odd size of the background's Gaussian blur, as ``cv2.GaussianBlur``'s (up to 301).
    color : list of 3 int
        Background colour in BGR order, each 0-255.
    image : str
        Picture or video file for ``mode="image"``.
    feather : float
        Width of the soft edge in frame pixels (the sigma of a Gaussian applied to the mask);
        0 leaves the model's own edge.
    smoothing : float
        In [0, 1): the share of its previous value that a still mask pixel keeps; 0 turns the
        temporal smoothing off.
    model : str
        ``selfie_segmentation_landscape`` (256x144 input, the faster), ``selfie_segmentation``
        (256x256), or the path of a local copy of either (``camfx models`` lists them).

    The filter remembers the previous mask, so it is not ``stateless``: a chain runs it on the
    real frames only, in order. Gray frames work too (the model sees them as gray BGR).
    """

    name = "background"
    group = "composite"
    stateless = False
    # Cheaper ways of working, mildest first, that the live governor may ask for when the frame
    # rate cannot be held (see economize).
    economies = ("mask every other frame",)

    def __init__(self, *, mode: str = "blur", ksize: int = 31, color: list = [0, 160, 0], image: str = "",
                 feather: float = 3.0, smoothing: float = 0.8, model: str = DEFAULT_MODEL):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.ksize = odd_ksize(ksize)
        if self.ksize > MAX_KSIZE:
            raise ValueError(f"ksize must be at most {MAX_KSIZE}, got {ksize!r}")
        if (not isinstance(color, (list, tuple)) or len(color) != 3
                or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)):
            raise ValueError(f"color must be three integers 0-255 in BGR order, got {color!r}")
        self.color = list(color)
        if not isinstance(image, str):
            raise ValueError(f"image must be a file path, got {image!r}")
        if (mode == "image") != bool(image):
            raise ValueError('image must name a picture or video file when mode="image", and only then; '
                             f'got mode={mode!r}, image={image!r}')
        self.image = image
        self.feather = _number("feather", feather, 0, 100)
        self.smoothing = _number("smoothing", smoothing, 0, 1, closed=False)
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a model name or a file path, got {model!r}")
        self.model = model
        # What can fail is tried now, when the chain is built, not on the first frame.
        self._segmenter = PersonSegmenter(model)
        self._backdrop = Backdrop(image) if mode == "image" else None
        self._plan = blur_plan(self.ksize)
        self._taps = gaussian_taps(self._plan[1])
        self._previous = None   # the last smoothed mask, at the model's resolution
        self._skip = False      # economising: this frame reuses the last mask
        self._tables = {}

    # -- the stages, in order (public so that benchmarks can time each one) ---------------------

    def segment(self, frame):
        """The person probability of ``frame`` smoothed over time, at the model's resolution:
        (h, w) float32. Runs the network (or, economising, reuses the last mask every other
        frame)."""
        if self._previous is not None and self.economy >= 1:
            self._skip = not self._skip
            if self._skip:
                return self._previous
        raw = self._segmenter(frame)
        if self._previous is not None and self.smoothing > 0:
            change = raw - self._previous
            keep = self.smoothing * np.exp(-np.square(change * (1 / MOTION)))
            raw = raw - keep * change
        self._previous = raw
        return raw

    def refine(self, mask, shape):
        """``mask`` feathered and made as wide as a frame of ``shape``, one value per channel:
        (h, W * C) float32 rows, for :meth:`composite`."""
        import cv2
        height, width = shape[:2]
        channels = shape[2] if len(shape) == 3 else 1
        mh, mw = mask.shape
        if self.feather > 0:
            mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=self.feather * mw / width,
                                    sigmaY=self.feather * mh / height)
        if channels > 1:
            mask = cv2.merge([mask] * channels)
        return cv2.resize(mask, (width, mh), interpolation=cv2.INTER_LINEAR).reshape(mh, width * channels)

    def backdrop(self, frame, mask):
        """What goes behind the person, as rows as wide as the frame: (h, W * C) uint8, h any
        number of rows (resized to the frame's height in :meth:`composite`)."""
        import cv2
        height, width = frame.shape[:2]
        channels = frame.shape[2] if frame.ndim == 3 else 1
        if self.mode == "color":
            key = ("color", frame.shape)
            if key not in self._tables:
                color = np.array(self.color, np.uint8).reshape(1, 1, 3)
                if channels == 1:
                    color = cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
                self._tables[key] = np.tile(color.reshape(1, channels), (1, width))
            return self._tables[key]
        if self.mode == "image":
            return self._backdrop.cover(width, height, channels).reshape(height, width * channels)
        return self._blurred(frame, mask)

    def _blurred(self, frame, mask):
        import cv2
        height, width = frame.shape[:2]
        channels = frame.shape[2] if frame.ndim == 3 else 1
        factor = self._plan[0]
        small_h, small_w = matte.shrunk(height, factor), matte.shrunk(width, factor)
        mh, mw = mask.shape
        weighted = scratch("background-weighted", (small_h, small_w * (channels + 1)), np.dtype(np.float32))
        blurred = scratch("background-blurred", (small_h, small_w * channels), np.dtype(np.uint8))
        matte.background_blur(frame.reshape(height, -1), channels, factor, mask,
                              self._table(small_h, mh), self._table(small_w, mw), EDGE[0], EDGE[1],
                              WEIGHT_FLOOR, self._taps, self._taps, row_blocks(small_h, numba.get_num_threads()),
                              weighted, blurred)
        if factor == 1:
            return blurred
        # Back to full width (a little more when the factor does not divide it), by OpenCV's
        # resize at exactly the factor, so that pixel centres line up with the area averages.
        wide = cv2.resize(blurred.reshape(small_h, small_w, channels), (small_w * factor, small_h),
                          interpolation=cv2.INTER_LINEAR)
        return wide.reshape(small_h, -1)

    def composite(self, frame, matte_rows, back_rows, out):
        """The frame over the backdrop through the mask, into ``out``."""
        height = frame.shape[0]
        back_rows_scale = 1 / self._plan[0] if self.mode == "blur" else None
        matte.composite(frame.reshape(height, -1), matte_rows, self._table(height, matte_rows.shape[0]),
                        back_rows, self._table(height, back_rows.shape[0], back_rows_scale), EDGE[0], EDGE[1],
                        row_blocks(height, numba.get_num_threads()), out.reshape(height, -1))
        return out

    def apply(self, frame, out=None):
        return self.profile(frame, out)[0]

    def profile(self, frame, out=None, clock=None):
        """Filter ``frame`` as :meth:`apply` does, timing each stage with ``clock`` (a function
        returning seconds; None times nothing, as ``apply``).

        Returns
        -------
        (out, [(stage, seconds), ...])
            The stages, in order: mask inference, upsampling and refinement, the background
            (``blur``, ``image`` or ``color``), composite. ``camfx bench`` reports them.
        """
        frame = np.ascontiguousarray(frame)
        out = check_out(out, frame.shape, np.dtype(np.uint8), frame)
        times, now = [], clock or (lambda: 0.0)
        start = now()
        mask = self.segment(frame)
        times.append(("mask inference", now()))
        rows = self.refine(mask, frame.shape)
        times.append(("upsampling and refinement", now()))
        back = self.backdrop(frame, mask)
        times.append((self.mode, now()))
        self.composite(frame, rows, back, out)
        times.append(("composite", now()))
        ends = [start] + [t for _, t in times]
        return out, [(stage, end - begin) for (stage, _), begin, end in zip(times, ends, ends[1:])]

    def stage_references(self):
        """OpenCV's way to the same result as a stage, to time it against: the blur, as
        ``cv2.GaussianBlur`` of the same size over the whole frame."""
        import cv2
        if self.mode != "blur":
            return {}
        return {"blur": lambda frame: cv2.GaussianBlur(frame, (self.ksize, self.ksize), 0)}

    @property
    def mask(self):
        """The last smoothed person probability, at the model's resolution (None before the
        first frame)."""
        return self._previous

    def reset(self):
        self._previous, self._skip = None, False

    def compiled(self):
        from camfx.kernels.layers import upsample2_sigmoid
        kernels = [upsample2_sigmoid, matte.composite]
        return kernels + [matte.background_blur] if self.mode == "blur" else kernels

    def _table(self, n_out, n_in, scale=None):
        key = (n_out, n_in, scale)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = matte.bilinear_table(n_out, n_in, scale)
        return table


def _number(name, value, low, high, closed=True):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (low <= value <= high if closed else low <= value < high):
        raise ValueError(f"{name} must be in [{low}, {high}{']' if closed else ')'}, got {value!r}")
    return float(value)


class Backdrop:
    """A picture, or a video file played in a loop (one frame per call of :meth:`cover`), scaled
    to cover frames of a given size."""

    def __init__(self, path):
        """Open ``path`` as a picture (any format OpenCV reads), else as a video (PyAV); raise
        CamfxError naming the file when it is neither."""
        import cv2
        self.path = Path(path)
        if not self.path.is_file():
            raise CamfxError(f"background image {str(path)!r}: no such file")
        self._video = None   # the open InputVideo and its frames, for a video
        self._frames = None
        self._covered = {}   # (width, height, channels) -> the current picture, covering that size
        self._picture = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        self.is_video = self._picture is None
        if self.is_video:
            try:
                self._picture = self._next_frame()
            except CamfxError as error:
                raise CamfxError(f"background image {str(path)!r} is neither a picture OpenCV reads nor a "
                                 f"video ({error})") from None

    def cover(self, width, height, channels):
        """The current picture scaled to cover ``width`` x ``height`` and cropped to it, centred:
        (height, width, channels) uint8. A video then moves on to its next frame."""
        key = (width, height, channels)
        covered = self._covered.get(key)
        if covered is None:
            covered = self._covered[key] = _cover(self._picture, width, height, channels)
        if self.is_video:
            self._picture, self._covered = self._next_frame(), {}
        return covered

    def _next_frame(self):
        from camfx.files.video import InputVideo
        from camfx.frame import Frame
        for _ in range(2):
            if self._frames is None:
                self._video = InputVideo(self.path)  # raises CamfxError for a file that is no video
                self._frames = (item.image for item in self._video.items(warn=_warn) if isinstance(item, Frame))
            frame = next(self._frames, None)
            if frame is not None:
                return frame
            self._video.close()  # the end: play it again
            self._frames = None
        raise CamfxError(f"background image {str(self.path)!r}: no video frame could be read")


def _warn(message):
    print(f"camfx: background: {message}", file=sys.stderr, flush=True)


def _cover(picture, width, height, channels):
    import cv2
    ph, pw = picture.shape[:2]
    scale = max(width / pw, height / ph)
    size = (max(width, round(pw * scale)), max(height, round(ph * scale)))
    resized = cv2.resize(picture, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x, y = (size[0] - width) // 2, (size[1] - height) // 2
    crop = resized[y:y + height, x:x + width]
    if channels == 1:
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(crop)
