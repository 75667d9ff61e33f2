import numpy as np

from camfx import kernels
from camfx.filter import Filter
from camfx.kernels import convolve2d
from camfx.kernels.specialised import Direct

# The 4-neighbour Laplacian sharpen: identity plus the negative Laplacian.
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)


class Sharpen(Filter):
    """Sharpen, equal to ``cv2.filter2D(frame, -1, SHARPEN)``."""

    name = "sharpen"
    variants = ("direct", "generic")  # weights as constants, int16 sums / weights from an array
    variant = "direct"

    def __init__(self):
        self._direct = Direct(SHARPEN)

    def apply(self, frame, out=None):
        if self.variant == "generic":
            return convolve2d(frame, SHARPEN, out=out)
        return self._direct(frame, out)

    def compiled(self):
        return [kernels.correlate.same_to_u8] if self.variant == "generic" else self._direct.dispatchers()
