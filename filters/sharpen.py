import numpy as np

from camfx_filters.kernel import Kernel

# The 4-neighbour Laplacian sharpen: identity plus the negative Laplacian.
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)


class Sharpen(Kernel):
    """Sharpen, equal to ``cv2.filter2D(frame, -1, SHARPEN)``."""

    name = "sharpen"
    group = "blur and sharpen"

    def __init__(self):
        super().__init__(matrix=SHARPEN)
