import numpy as np

from camfx.engine.filter import Filter, integer, number


class Bilateral(Filter):
    """Edge-preserving smoothing: each pixel the mean of its ``d x d`` neighbourhood weighted by
    distance (``sigma_space``, pixels) and by colour difference (``sigma_color``, levels), as
    ``cv2.bilateralFilter``.

    Wraps OpenCV: the weights depend on the pixels, so it is no convolution for the numba engine
    to specialise, and OpenCV's (SIMD, row-parallel, weights from tables) is the fast way to it.
    """

    name = "bilateral"
    group = "blur and sharpen"
    stateless = True
    reference_tolerance = 2

    def __init__(self, *, d: int = 9, sigma_color: float = 75.0, sigma_space: float = 75.0):
        self.d = integer(d, "d", 1, 31)
        self.sigma_color = number(sigma_color, "sigma_color", 0.01, 10000)
        self.sigma_space = number(sigma_space, "sigma_space", 0.01, 10000)

    def reference(self):
        import cv2
        return lambda frame, dst=None: cv2.bilateralFilter(frame, self.d, self.sigma_color, self.sigma_space,
                                                           dst=dst)

    def apply(self, frame, out=None):
        import cv2
        return cv2.bilateralFilter(np.ascontiguousarray(frame), self.d, self.sigma_color, self.sigma_space,
                                   dst=out)
