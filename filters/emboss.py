import numpy as np

from camfx import kernels
from camfx.filter import Filter
from camfx.kernels import convolve2d
from camfx.kernels.specialised import Direct

# The classic 3x3 emboss (light from the top left), as in most image editors.
EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)


class Emboss(Filter):
    """Emboss, equal to ``cv2.filter2D(frame, -1, EMBOSS)``."""

    name = "emboss"
    variants = ("direct", "generic")  # weights as constants, int16 sums / weights from an array
    variant = "direct"

    def __init__(self):
        self._direct = Direct(EMBOSS)

    def apply(self, frame, out=None):
        if self.variant == "generic":
            return convolve2d(frame, EMBOSS, out=out)
        return self._direct(frame, out)

    def compiled(self):
        return [kernels.correlate.same_to_u8] if self.variant == "generic" else self._direct.dispatchers()
