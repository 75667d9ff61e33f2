import numpy as np

from camfx.filter import Filter, odd_ksize
from camfx.kernels import separable_filter


class Box(Filter):
    """Mean over a ``ksize`` x ``ksize`` window, equal to ``cv2.blur(frame, (ksize, ksize))``."""

    name = "box"

    def __init__(self, *, ksize: int = 5):
        self.ksize = odd_ksize(ksize)
        self._weights = np.full(self.ksize, 1.0 / self.ksize, np.float32)

    def apply(self, frame):
        return separable_filter(frame, self._weights, self._weights)
