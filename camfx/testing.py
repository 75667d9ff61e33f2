"""The filter contract as a function plugin authors call in their own tests (as kornia's shared
filter tests and scikit-learn's ``check_estimator`` do)::

    from camfx.testing import check_filter
    from my_plugin import Tint

    def test_tint_keeps_the_filter_contract():
        check_filter(Tint)
        check_filter(Tint, color=[0, 0, 255], strength=0.5)

camfx runs the same function over every installed ``camfx.filters`` entry point.
"""
import inspect
import threading

import numpy as np

from .engine.chain import parse_chain
from .engine.filter import Filter
from .engine.registry import Plugin, Registry, check_params

__all__ = ["FilterCheckError", "check_filter", "contract_frames"]

# Values every parameter of a type must either refuse (a ValueError naming the parameter, when
# the filter is built) or handle (then the filter must work on frames). Non-finite numbers must
# always be refused.
MUST_REFUSE = {float: [float("nan"), float("inf"), float("-inf")]}
REFUSE_OR_WORK = {
    float: [0.0, -1.0, 1e300, -1e300],
    int: [0, -1, 2**31 - 1],
    str: ["", "no such value \u2717"],
    list: [[], [[]], ["x"], [1e300, 1e300, 1e300], [[1e300]]],
}


class FilterCheckError(AssertionError):
    """A filter broke the contract; the message says what failed, on which frame and variant."""


def contract_frames():
    """The frames :func:`check_filter` runs filters on: ``[(description, frame), ...]``.

    Pictures of camfx's demo scene (a textured, moving test picture; the same pixels on every
    machine, as a lossless recording of it would give): BGR and gray, sizes odd and even down to
    1x1, non-contiguous views (strided, reversed, transposed) and read-only arrays. New arrays
    on every call, so that a filter that writes into its input cannot spoil later checks.
    """
    from .live.demo import DemoScene  # OpenCV draws the scene
    import cv2
    bgr = DemoScene(160, 120).frame(17)
    odd = DemoScene(101, 77).frame(40)
    gray, odd_gray = (cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in (bgr, odd))
    frames = [
        ("BGR 160x120", bgr), ("BGR 101x77", odd), ("gray 160x120", gray), ("gray 101x77", odd_gray),
        ("BGR 1x1", bgr[60:61, 80:81].copy()), ("gray 1x1", gray[60:61, 80:81].copy()),
        ("BGR 7x1", odd[40:41, 3:10].copy()), ("gray 1x7", odd_gray[3:10, 40:41].copy()),
        ("BGR 3x2", bgr[50:52, 70:73].copy()), ("gray 2x3", gray[50:53, 70:72].copy()),
        ("BGR 13x9", odd[30:39, 50:63].copy()),
        ("BGR 160x45", bgr[10:55].copy()),  # the first one's width, another height
        ("BGR view, every 2nd row and 3rd column", bgr[1::2, ::3]),
        ("BGR view, rows reversed and cropped", odd[::-1, 5:-3]),
        ("BGR view, channels reversed", bgr[:, :, ::-1]),
        ("gray view, transposed", odd_gray.T),
        ("gray view, every 2nd column", gray[3:-2, 1::2]),
        ("BGR read-only", _read_only(odd.copy())),
        ("gray read-only view", _read_only(gray[::2, 1:-1])),
    ]
    return [(f"{description} {frame.shape}", frame) for description, frame in frames]


def _read_only(array):
    array.flags.writeable = False
    return array


def check_filter(filter_class, **params):
    """Check that ``filter_class(**params)`` keeps camfx's filter contract; raise
    :class:`FilterCheckError` (an AssertionError) saying what failed, on which frame and
    variant, at the first broken promise.

    On the frames of :func:`contract_frames` (BGR and gray, odd sizes down to 1x1,
    non-contiguous and read-only views), for every variant:

    - the filter runs, leaves its input unchanged and returns a uint8 frame of the input's shape;
    - ``filter(frame, out=buffer)`` returns ``buffer``, equal to the plain call;
    - every variant's result is bit-equal to the default variant's (the autotuner's choice must
      never change the picture);
    - the result is within ``reference_tolerance`` of the filter's :meth:`~Filter.reference`,
      when it states one.

    And: ``repr(filter)`` parses back (``parse_chain``) into a filter of the same class with the
    same parameters and the same output; parameters are keyword-only and annotated; non-finite
    numbers are refused with a ValueError naming the parameter, and other extreme values
    (``0``, ``-1``, ``2**31 - 1``, ``1e300``, ``""``, ``[]``, ...) are either refused the same
    way when the filter is built, or work on frames. A ``stateless`` filter must give the same
    result for a frame whatever it saw before, and from two threads at once. A filter that is not
    ``stateless`` (it remembers frames) gets a fresh instance for every comparison.

    Parameters
    ----------
    filter_class : type
        A :class:`camfx.Filter` subclass.
    **params
        Parameters to build it with (its defaults otherwise).

    Raises
    ------
    FilterCheckError
        At the first broken promise.
    """
    _check_class(filter_class)
    first = _build(filter_class, params)
    label = repr(first)
    variants = list(first.variants) or [None]

    def make(variant):
        f = _build(filter_class, params)
        if variant is not None:
            f.use(variant)
        return f
    shared = {variant: make(variant) for variant in variants} if first.stateless else None

    def instance(variant):  # a filter that remembers frames starts afresh for each comparison
        return shared[variant] if shared else make(variant)

    frames = contract_frames()
    results = {}
    for variant in variants:
        for description, frame in frames:
            where = _Where(label, variant, description)
            plain = _run(instance(variant), frame, where)
            out = np.full(frame.shape, 77, np.uint8)
            written = _run(instance(variant), frame, where, out=out)
            if written is not out:
                where.fail("with out=, the call must return out (the array it was given)")
            _same(written, plain, where, "out= differs from the plain call")
            if variant == variants[0]:
                results[description] = plain
                _against_reference(first, frame, plain, where)
            else:
                _same(plain, results[description], where, f"differs from variant {variants[0]!r}")
    if first.stateless:
        _check_stateless(shared[variants[0]], frames, results, label, variants[0])
    _check_repr(filter_class, first, frames, results, label)
    _check_bad_parameters(filter_class, params, label)


class _Where:
    """Which filter, variant and frame a check is about, for the failure message."""

    def __init__(self, label, variant, frame="", extra=""):
        self.label, self.variant, self.frame, self.extra = label, variant, frame, extra

    def fail(self, what):
        variant = f", variant {self.variant!r}" if self.variant is not None else ""
        frame = f", on the frame {self.frame}" if self.frame else ""
        raise FilterCheckError(f"{self.label}{variant}{frame}{self.extra}: {what}")


def _check_class(filter_class):
    if not (inspect.isclass(filter_class) and issubclass(filter_class, Filter)):
        raise FilterCheckError(f"{filter_class!r} is not a camfx.Filter subclass")
    name = getattr(filter_class, "name", "")
    if not isinstance(name, str) or not name.isidentifier():
        raise FilterCheckError(f"{filter_class.__qualname__}: name must be an identifier a chain spec "
                               f"can use, got {name!r}")
    if filter_class.__init__ is object.__init__:
        return  # no parameters
    signature = inspect.signature(filter_class.__init__)
    for p in list(signature.parameters.values())[1:]:
        if p.kind is not p.KEYWORD_ONLY:
            raise FilterCheckError(f"{name}: parameter {p.name!r} of __init__ must be keyword-only "
                                   f"(def __init__(self, *, {p.name}=...)), so chains can name it")
        if p.annotation not in (int, float, bool, str, list):
            raise FilterCheckError(f"{name}: parameter {p.name!r} needs an annotation camfx can check "
                                   f"(int, float, bool, str or list), got {p.annotation!r}")


def _build(filter_class, params):
    """The filter, built as a chain spec would build it (parameters checked against the
    signature first)."""
    name = filter_class.name
    try:
        check_params(name, filter_class, params)
        return filter_class(**params)
    except Exception as error:
        raise FilterCheckError(f"{name}: could not be built with {params!r}: "
                               f"{type(error).__name__}: {error}") from error


def _run(f, frame, where, out=None):
    """``f(frame)`` (or with ``out``) with the contract's checks on the input and the result."""
    before = frame.copy()
    try:
        result = f(frame) if out is None else f(frame, out=out)
    except Exception as error:
        where.fail(f"raised {type(error).__name__}: {error}")
    if not np.array_equal(frame, before):
        where.fail("changed its input frame")
    if not isinstance(result, np.ndarray) or result.shape != frame.shape or result.dtype != np.uint8:
        got = f"{result.shape} {result.dtype}" if isinstance(result, np.ndarray) else type(result).__name__
        where.fail(f"returned {got}; a filter must keep the frame's shape {frame.shape} and dtype uint8")
    return result


def _same(actual, expected, where, what, tolerance=0):
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    wrong = diff > tolerance
    if wrong.any():
        at = tuple(int(i) for i in np.unravel_index(np.argmax(wrong), wrong.shape))
        within = f" by more than {tolerance}" if tolerance else ""
        where.fail(f"{what}{within} in {int(wrong.sum())} of {wrong.size} values (largest difference "
                   f"{int(diff.max())}, first at {at}: {int(actual[at])} instead of {int(expected[at])})")


def _against_reference(f, frame, result, where):
    reference = f.reference()
    if reference is None:
        return
    try:
        expected = reference(np.ascontiguousarray(frame))
    except Exception as error:
        where.fail(f"its reference raised {type(error).__name__}: {error}")
    if not isinstance(expected, np.ndarray) or expected.shape != frame.shape or expected.dtype != np.uint8:
        where.fail(f"its reference returned {getattr(expected, 'shape', type(expected).__name__)}, "
                   f"not a uint8 frame of shape {frame.shape}")
    _same(result, expected, where, "differs from its reference", f.reference_tolerance)


def _check_stateless(f, frames, results, label, variant):
    """Same output for a frame after other frames, and from two threads at once."""
    description, frame = frames[0]
    _same(_run(f, frame, _Where(label, variant, description)), results[description],
          _Where(label, variant, description, " (run again after the other frames)"),
          "stateless, but the result changed: it depends on earlier frames")
    failures = []

    def worker(order):
        try:
            for description, frame in order:
                where = _Where(label, variant, description, " (two threads at once)")
                _same(_run(f, frame, where), results[description], where,
                      "stateless, but differs when two threads run it at once")
        except FilterCheckError as error:
            failures.append(error)
    threads = [threading.Thread(target=worker, args=(order,)) for order in (frames, frames[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _check_repr(filter_class, f, frames, results, label):
    text = repr(f)
    registry = Registry([Plugin(filter_class.name, "camfx.testing", lambda: filter_class)])
    where = _Where(label, None, extra=" (its repr parsed back with parse_chain)")
    try:
        chain = parse_chain(text, registry)
    except Exception as error:
        where.fail(f"repr {text!r} does not parse back: {type(error).__name__}: {error}")
    if len(chain) != 1 or type(chain.filters[0]) is not filter_class:
        where.fail(f"repr {text!r} does not give back one {filter_class.__qualname__}")
    again = chain.filters[0]
    for p in filter_class.parameters():
        a, b = getattr(f, p.name, p.default), getattr(again, p.name, p.default)
        if not _equal_values(a, b):
            where.fail(f"parameter {p.name} is {b!r}, not {a!r}")
    description, frame = frames[0]  # (the parsed-back filter is new: it has seen no frame)
    _same(_run(again, frame, _Where(label, None, description, " (parsed back from its repr)")),
          results[description], _Where(label, None, description, f" (parsed back from {text!r})"),
          "gives another picture than the filter it was printed from")


def _equal_values(a, b):
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))) \
            if isinstance(a, (list, tuple, np.ndarray)) else a == b or (a != a and b != b)
    except (TypeError, ValueError):
        return a == b


def _check_bad_parameters(filter_class, params, label):
    small = contract_frames()[1:4:2]  # a BGR and a gray frame of odd size
    for p in filter_class.parameters():
        for value in MUST_REFUSE.get(p.annotation, []):
            error = _build_with(filter_class, params, p.name, value, label)
            if error is None:
                raise FilterCheckError(f"{label}: {p.name}={value!r} was accepted; it must be refused "
                                       f"with a ValueError naming {p.name}")
        for value in REFUSE_OR_WORK.get(p.annotation, []):
            if _build_with(filter_class, params, p.name, value, label) is not None:
                continue
            f = filter_class(**{**params, p.name: value})
            for description, frame in small:
                where = _Where(label, None, description,
                               f" (built with {p.name}={value!r}: a value that cannot work must be "
                               f"refused when the filter is built, with a ValueError naming {p.name})")
                _run(f, frame, where)


def _build_with(filter_class, params, name, value, label):
    """The ValueError that building with ``name=value`` raised (it must name the parameter), or
    None when the filter was built."""
    try:
        filter_class(**{**params, name: value})
    except ValueError as error:
        if name not in str(error):
            raise FilterCheckError(f"{label}: {name}={value!r} was refused with a message that does not "
                                   f"name {name}: {error}") from error
        return error
    except Exception as error:
        raise FilterCheckError(f"{label}: {name}={value!r} raised {type(error).__name__}: {error}; "
                               f"bad parameters must raise a ValueError naming {name}") from error
    return None
