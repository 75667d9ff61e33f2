import numpy as np

from camfx import kernels
from camfx.engine.filter import Filter, KernelPass, kernel_matrix, number
from camfx.kernels import convolve2d
from camfx.kernels.specialised import Direct

# Kernels with more non-zero taps than this run the generic engine: the generated code would be
# long to compile, and the generic engine's per-tap loops are vectorised too.
MAX_DIRECT_TAPS = 121
# Sums of weighted pixels stay well inside float32's range (3.4e38).
FLOAT32_SUM_LIMIT = 1e37


class Kernel(Filter):
    """Any user kernel, odd or even sized, equal to
    ``cv2.filter2D(frame, -1, matrix * scale, delta=offset)``."""

    name = "kernel"
    group = "stylise"
    stateless = True  # per-thread scratch buffers only
    variants = ("direct", "generic")  # weights as constants / weights from an array
    variant = "direct"

    def __init__(self, *, matrix: list, scale: float = 1.0, offset: float = 0.0):
        self.matrix = kernel_matrix(matrix).tolist()
        self.scale = number(scale, "scale")
        self.offset = number(offset, "offset", -FLOAT32_SUM_LIMIT, FLOAT32_SUM_LIMIT)
        with np.errstate(over="ignore", under="ignore"):
            self._weights = kernel_matrix(matrix) * self.scale
        # The sums run in float32 (as filter2D's): refuse weights whose sum could overflow it.
        if not np.abs(self._weights).sum() * 255 + abs(self.offset) <= FLOAT32_SUM_LIMIT:
            raise ValueError(f"matrix * scale is too large: the sum of |weights| times 255 must stay "
                             f"under {FLOAT32_SUM_LIMIT:.0e} (float32 sums), got weights up to "
                             f"{np.abs(self._weights).max():.3g}")
        if (self._weights != 0).sum() <= MAX_DIRECT_TAPS:
            self._direct = Direct(self._weights, self.offset)
        else:
            self.variants = ("generic",)
            self.variant = "generic"

    def kernel_passes(self):
        return [KernelPass("kernel", np.array(self.matrix), self.scale, self.offset)]

    def reference(self):
        import cv2
        kernel = np.float32(self._weights)
        return lambda frame, dst=None: cv2.filter2D(frame, -1, kernel, dst=dst, delta=self.offset)

    def apply(self, frame, out=None):
        if self.variant == "generic":
            return convolve2d(frame, self._weights, delta=self.offset, out=out)
        return self._direct(frame, out)

    def compiled(self):
        return [kernels.correlate.same_to_u8] if self.variant == "generic" else self._direct.dispatchers()
