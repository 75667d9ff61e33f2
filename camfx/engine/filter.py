"""The filter plugin contract: a small class with a name, keyword-only typed parameters and an
``apply`` that does the per-frame work."""
import functools
import inspect
import math
from typing import NamedTuple

import numpy as np

from ..errors import CamfxError


class KernelPass(NamedTuple):
    """One convolution a filter does, as ``camfx explain`` shows it: ``matrix`` (2-D, correlated
    as ``cv2.filter2D`` does, anchor at ``(rows // 2, columns // 2)``) times ``scale``, plus
    ``offset``. ``source`` says what it applies to: ``"previous"``, the result of the pass
    before it (the filter's input for the first: separable filters); ``"input"``, the filter's
    input (one of several gradients, combined after)."""

    label: str
    matrix: np.ndarray
    scale: float = 1.0
    offset: float = 0.0
    source: str = "previous"


class Filter:
    """Base class of every filter plugin.

    Subclasses set ``name``, take their parameters as keyword-only arguments with defaults and
    type annotations (``int``, ``float``, ``bool``, ``str`` or ``list``), validate them once in
    ``__init__``, and implement ``apply(frame) -> frame``. ``apply`` receives a checked uint8
    frame, gray ``(H, W)`` or BGR ``(H, W, 3)``, of any size and memory layout, and returns a
    frame of the same shape and dtype.

    Optional, for speed: ``apply(frame, out=None)`` writing into ``out`` (a C-contiguous uint8
    array of the frame's shape) lets a chain reuse its buffers, and ``variants`` names
    interchangeable implementations (the first is the default) that the autotuner picks from
    with :meth:`use`.

    ``stateless = True`` promises that each output depends on its own frame alone and that
    ``apply`` may run in two threads at once (keep scratch memory per call or per thread). It
    lets ``camfx process`` encode a long video as two halves at once; a chain with any filter
    that remembers earlier frames (the default, as the safe guess) is run in one pass. Such a
    filter may override :meth:`reset`, so that it can be warmed up (and checked) on frames of
    its own and then start afresh.

    ``economies`` names cheaper ways of working, mildest first (say, "mask every other frame"),
    that the live governor may ask for with :meth:`economize` before it shrinks the frames.

    :meth:`reference` names an independent implementation of the same picture (OpenCV's, for
    the built-ins), within ``reference_tolerance`` levels per pixel: the one statement of what
    the filter computes, which :func:`camfx.testing.check_filter` checks and ``camfx bench``
    times against (unless ``counterpart`` is False: a definition in NumPy, where OpenCV has no
    such filter, is checked but not timed).
    """

    name = ""
    group = ""  # where `camfx filters` lists it: one of app.filters.GROUPS ("" lists it under "other")
    variants = ()
    variant = None
    stateless = False
    economies = ()
    economy = 0
    reference_tolerance = 1
    counterpart = True  # reference() is OpenCV's route to the picture, for camfx bench to time against

    def __call__(self, frame, *, out=None):
        frame = check_frame(frame)
        return self.apply(frame) if out is None else apply_into(self, frame, out)

    def apply(self, frame):
        raise NotImplementedError

    def reference(self):
        """An independent implementation of this filter, ``ref(frame, dst=None) -> frame``, or
        None when there is none. ``frame`` is a C-contiguous uint8 gray or BGR frame; ``dst``, when
        given, is an array of the frame's shape the reference may write into (for timing)."""
        return None

    def kernel_passes(self):
        """The convolutions this filter does, as a list of :class:`KernelPass`, on a gray frame
        (``camfx explain`` draws them); None for a filter that is not a convolution."""
        return None

    kernel_note = "rounded and saturated to 0-255"  # what the filter does after its passes

    def compiled(self):
        """The numba functions ``apply`` will call with the current variant (so a chain can say
        it is compiling before a cold start, rather than look hung)."""
        return []

    def reset(self):
        """Forget what earlier frames left behind: the next frame is filtered as if it were the
        first. Filters that remember frames override this; the default does nothing."""

    def economize(self, level):
        """Work more cheaply: level 0 is the full work, level ``i`` the first ``i`` of
        :attr:`economies` at once."""
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= len(self.economies):
            raise ValueError(f"{self.name}: economy level must be 0-{len(self.economies)}, got {level!r}")
        self.economy = level

    def use(self, variant):
        """Switch to the implementation named ``variant`` (one of ``variants``)."""
        if variant not in self.variants:
            raise ValueError(f"{self.name}: unknown variant {variant!r}; "
                             f"available: {', '.join(self.variants) or 'none'}")
        self.variant = variant

    @classmethod
    def parameters(cls):
        """The keyword-only parameters of ``__init__`` as ``inspect.Parameter`` objects."""
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def __repr__(self):
        params = ", ".join(f"{p.name}={getattr(self, p.name, p.default)!r}" for p in self.parameters())
        return f"{self.name}({params})"


def accepts_out(filter_):
    """True when ``filter_.apply`` takes an ``out`` argument."""
    return _apply_takes_out(type(filter_))


@functools.lru_cache(maxsize=None)
def _apply_takes_out(cls):
    try:
        return "out" in inspect.signature(cls.apply).parameters
    except (TypeError, ValueError):
        return False


def apply_into(filter_, frame, out):
    """``filter_.apply(frame)`` written into ``out``, without a copy when the filter supports it
    (and returns ``out``); raises CamfxError if the filter changed the frame's shape or dtype."""
    if accepts_out(filter_):
        result = filter_.apply(frame, out=out)
        if result is out:
            return out
    else:
        result = filter_.apply(frame)
    np.copyto(out, check_result(filter_, frame, result))
    return out


def check_result(filter_, frame, result):
    """Return ``result`` if it has ``frame``'s shape and dtype, as a filter's must; else raise a
    CamfxError naming the filter (a plugin's bug, reported as such)."""
    if not isinstance(result, np.ndarray) or result.shape != frame.shape or result.dtype != frame.dtype:
        got = f"{result.shape} {result.dtype}" if isinstance(result, np.ndarray) else type(result).__name__
        raise CamfxError(f"{filter_.name} turned a {frame.shape} frame into {got}; "
                         "a filter must keep the frame's shape and dtype")
    return result


def check_frame(frame):
    """Return ``frame`` if it is a uint8 gray (H, W) or BGR (H, W, 3) array, else raise ValueError."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame dtype must be uint8, got {frame.dtype}")
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        raise ValueError(f"frame must be gray (H, W) or BGR (H, W, 3), got shape {frame.shape}")
    if frame.size == 0:
        raise ValueError(f"frame must not be empty, got shape {frame.shape}")
    return frame


# The largest window a ksize may name: larger ones would take minutes to compile and are no
# longer a local filter (and OpenCV's own limits are of this order for several filters).
MAX_KSIZE = 255


def odd_ksize(value, name="ksize", maximum=MAX_KSIZE):
    """Return ``value`` if it is an odd integer from 1 to ``maximum``, else raise a ValueError
    naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % 2 == 0:
        raise ValueError(f"{name} must be an odd positive integer, got {value!r}")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return value


def integer(value, name, low=None, high=None):
    """Return ``value`` if it is an integer (not a bool) within ``[low, high]``, else raise a
    ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(_in_range(value, name, low, high))


def number(value, name, low=None, high=None):
    """Return ``value`` as a float if it is a finite number (not a bool) within ``[low, high]``,
    else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(_in_range(value, name, low, high))


def _in_range(value, name, low, high):
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (f"from {low} to {high}" if low is not None and high is not None
                  else f"at least {low}" if low is not None else f"at most {high}")
        raise ValueError(f"{name} must be {bounds}, got {value!r}")
    return value


def choice(value, name, options):
    """Return ``value`` if it is one of ``options``, else raise a ValueError listing them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def rgb_color(value, name):
    """``[r, g, b]`` (numbers from 0 to 255) as a list of floats, else a ValueError naming it."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"{name} must be a colour [r, g, b] of numbers from 0 to 255, got {value!r}")
    return [number(v, name, 0, 255) for v in value]


def kernel_matrix(value, name="matrix"):
    """Return ``value`` as a non-empty 2-D float array of finite numbers, else raise ValueError."""
    try:
        matrix = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 2-D list of numbers, got {value!r}") from None
    if matrix.ndim != 2 or matrix.size == 0 or not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must be a non-empty 2-D list of finite numbers, got {value!r}")
    return matrix
