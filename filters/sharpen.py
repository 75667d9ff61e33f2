import numpy as np

from camfx.filter import Filter
from camfx.kernels import convolve2d

# The 4-neighbour Laplacian sharpen: identity plus the negative Laplacian.
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)


class Sharpen(Filter):
    """Sharpen, equal to ``cv2.filter2D(frame, -1, SHARPEN)``."""

    name = "sharpen"

    def apply(self, frame):
        return convolve2d(frame, SHARPEN)
