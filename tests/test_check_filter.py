"""camfx.testing.check_filter itself: a filter that keeps the contract passes, and each way of
breaking it is caught with a message saying what, on which frame and variant."""
import numpy as np
import pytest

from camfx import Filter
from camfx.testing import FilterCheckError, check_filter, contract_frames


class Invert(Filter):
    """A well-behaved filter with two variants, out= and a reference."""
    name = "invert"
    stateless = True
    variants = ("subtract", "xor")
    variant = "subtract"

    def __init__(self, *, amount: int = 255):
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= 255:
            raise ValueError(f"amount must be an integer from 0 to 255, got {amount!r}")
        self.amount = amount

    def reference(self):
        return lambda frame, dst=None: np.clip(self.amount - frame.astype(int), 0, 255).astype(np.uint8)

    def apply(self, frame, out=None):
        out = np.empty(frame.shape, np.uint8) if out is None else out
        if self.variant == "xor" and self.amount == 255:
            np.bitwise_xor(frame, 255, out=out)
        else:
            np.copyto(out, np.clip(self.amount - frame.astype(int), 0, 255), casting="unsafe")
        return out


class Trail(Filter):
    """Remembers the previous frame (not stateless): each output is the mean with it."""
    name = "trail"

    def __init__(self):
        self.previous = None

    def apply(self, frame):
        previous = frame if self.previous is None else self.previous
        self.previous = frame.copy()
        return ((frame.astype(np.uint16) + previous) // 2).astype(np.uint8)


def test_filters_that_keep_the_contract_pass():
    check_filter(Invert)
    check_filter(Invert, amount=200)
    check_filter(Trail)  # remembers frames: a fresh instance per comparison, so it passes


def test_the_frames_cover_gray_bgr_tiny_strided_and_read_only():
    frames = dict(contract_frames())
    shapes = [f.shape for f in frames.values()]
    assert (1, 1) in shapes and (1, 1, 3) in shapes
    assert any(f.ndim == 2 for f in frames.values()) and any(f.ndim == 3 for f in frames.values())
    assert any(not f.flags.c_contiguous for f in frames.values())
    assert any(not f.flags.writeable for f in frames.values())
    assert any(s[0] % 2 and s[1] % 2 for s in shapes)
    assert all(f.dtype == np.uint8 and np.ptp(f) > 0 for f in frames.values() if f.size > 6)


def broken(base=Invert, **members):
    return type("Broken", (base,), members)


def _apply_plus_one_in_xor(self, frame, out=None):
    out = Invert.apply(self, frame, out)
    if self.variant == "xor":
        out.flat[0] = out.flat[0] // 2 + 1  # one value off, as a rounding difference would be
    return out


def _remember(self, frame, out=None):
    """Claims to be stateless, but changes after one round of the contract's frames."""
    self.calls = getattr(self, "calls", 0) + 1
    result = Invert.apply(self, frame, out)
    if self.calls > 2 * len(contract_frames()):
        result.flat[0] = result.flat[0] // 2 + 1
    return result


def _fails_on_one_pixel(self, frame, out=None):
    if frame.shape[:2] == (1, 1):
        raise RuntimeError("no 1x1")
    return Invert.apply(self, frame, out)


class StoresUnderAnotherName(Invert):
    """Keeps its parameter as ``level``: its repr shows the default ``amount``."""
    def __init__(self, *, amount: int = 255):
        self.level = amount

    def reference(self):
        return None

    def apply(self, frame, out=None):
        return np.clip(self.level - frame.astype(int), 0, 255).astype(np.uint8)


class NotNamingTheParameter(Invert):
    def __init__(self, *, gain: float = 1.0):
        super().__init__()
        if gain != gain:
            raise ValueError("bad value")
        self.gain = gain


class AcceptingAnything(Invert):
    def __init__(self, *, gain: float = 1.0):
        super().__init__()
        self.gain = gain


class FailingLater(Invert):
    def __init__(self, *, block: int = 3):
        super().__init__()
        self.block = block

    def apply(self, frame, out=None):
        np.empty(self.block)  # a negative block fails here, on the first frame
        return super().apply(frame, out)


class Positional(Invert):
    def __init__(self, amount=255):
        super().__init__(amount=amount)


class Unannotated(Invert):
    def __init__(self, *, amount=255):
        super().__init__(amount=amount)


@pytest.mark.parametrize("filter_class, message", [
    (broken(apply=lambda self, frame, out=None: Invert.apply(self, frame[1:])),
     r"invert\(amount=255\), variant 'subtract', on the frame BGR 160x120 \(120, 160, 3\): returned \(119, 160, 3\)"),
    (broken(apply=lambda self, frame, out=None: frame.__setitem__((0, 0), 3) or Invert.apply(self, frame, out)),
     r"variant 'subtract', on the frame BGR 160x120 \(120, 160, 3\): changed its input frame"),
    (broken(apply=lambda self, frame, out=None: Invert.apply(self, frame) if out is None else frame.copy()),
     r"on the frame BGR 160x120 \(120, 160, 3\): out= differs from the plain call in \d+ of 57600 values"),
    (broken(apply=_apply_plus_one_in_xor),
     r"variant 'xor', on the frame BGR 160x120 \(120, 160, 3\): differs from variant 'subtract' in 1 of 57600"),
    (broken(reference=lambda self: lambda frame, dst=None: frame.copy()),
     r"on the frame BGR 160x120 \(120, 160, 3\): differs from its reference by more than 1"),
    (broken(apply=_fails_on_one_pixel),
     r"on the frame BGR 1x1 \(1, 1, 3\): raised RuntimeError: no 1x1"),
    (broken(apply=_remember), r"stateless, but the result changed"),
    (StoresUnderAnotherName, r"\(parsed back from 'invert\(amount=255\)'\).*gives another picture"),
    (NotNamingTheParameter, r"gain=nan was refused with a message that does not name gain: bad value"),
    (AcceptingAnything, r"gain=nan was accepted; it must be refused with a ValueError naming gain"),
    (FailingLater, r"\(built with block=-1: a value that cannot work must be refused .*\): raised ValueError"),
    (Positional, r"parameter 'amount' of __init__ must be keyword-only"),
    (Unannotated, r"parameter 'amount' needs an annotation"),
    (broken(name="two words"), r"name must be an identifier"),
], ids=["shape", "mutates-input", "out-differs", "variants-differ", "reference", "tiny-frame", "not-stateless",
        "repr", "message", "accepts-nan", "fails-later", "positional", "annotation", "name"])
def test_each_broken_promise_is_caught_and_named(filter_class, message):
    params = {"block": 3} if filter_class is FailingLater else {}
    if filter_class is StoresUnderAnotherName:
        params = {"amount": 100}
    with pytest.raises(FilterCheckError, match=message):
        check_filter(filter_class, **params)


def test_a_filter_that_cannot_be_built_is_named():
    with pytest.raises(FilterCheckError, match=r"invert: could not be built with \{'amount': 300\}: ValueError: "
                                               r"amount must be an integer from 0 to 255, got 300"):
        check_filter(Invert, amount=300)


def test_the_readme_plugin_example_keeps_the_contract():
    """The README's plugin example, run as written."""
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    source = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "class Threshold" in block)
    namespace = {}
    exec(compile(source, "README.md", "exec"), namespace)
    check_filter(namespace["Threshold"])
    check_filter(namespace["Threshold"], level=10)
