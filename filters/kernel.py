import math

from camfx import kernels
from camfx.engine.filter import Filter, kernel_matrix
from camfx.kernels import convolve2d
from camfx.kernels.specialised import Direct

# Kernels with more non-zero taps than this run the generic engine: the generated code would be
# long to compile, and the generic engine's per-tap loops are vectorised too.
MAX_DIRECT_TAPS = 121


class Kernel(Filter):
    """Any user kernel, odd or even sized, equal to
    ``cv2.filter2D(frame, -1, matrix * scale, delta=offset)``."""

    name = "kernel"
    stateless = True  # per-thread scratch buffers only
    variants = ("direct", "generic")  # weights as constants / weights from an array
    variant = "direct"

    def __init__(self, *, matrix: list, scale: float = 1.0, offset: float = 0.0):
        for key, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number, got {value!r}")
        self.matrix = kernel_matrix(matrix).tolist()
        self.scale = float(scale)
        self.offset = float(offset)
        self._weights = kernel_matrix(matrix) * self.scale
        if (self._weights != 0).sum() <= MAX_DIRECT_TAPS:
            self._direct = Direct(self._weights, self.offset)
        else:
            self.variants = ("generic",)
            self.variant = "generic"

    def apply(self, frame, out=None):
        if self.variant == "generic":
            return convolve2d(frame, self._weights, delta=self.offset, out=out)
        return self._direct(frame, out)

    def compiled(self):
        return [kernels.correlate.same_to_u8] if self.variant == "generic" else self._direct.dispatchers()
