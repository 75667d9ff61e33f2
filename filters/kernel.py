import math

from camfx.filter import Filter, kernel_matrix
from camfx.kernels import convolve2d


class Kernel(Filter):
    """Any user kernel, odd or even sized, equal to
    ``cv2.filter2D(frame, -1, matrix * scale, delta=offset)``."""

    name = "kernel"

    def __init__(self, *, matrix: list, scale: float = 1.0, offset: float = 0.0):
        for key, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number, got {value!r}")
        self.matrix = kernel_matrix(matrix).tolist()
        self.scale = float(scale)
        self.offset = float(offset)
        self._weights = kernel_matrix(matrix) * self.scale

    def apply(self, frame):
        return convolve2d(frame, self._weights, delta=self.offset)
