import numpy as np

from camfx_filters.kernel import Kernel

# The classic 3x3 emboss (light from the top left), as in most image editors.
EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)


class Emboss(Kernel):
    """Emboss, equal to ``cv2.filter2D(frame, -1, EMBOSS)``."""

    name = "emboss"
    group = "stylise"

    def __init__(self):
        super().__init__(matrix=EMBOSS)
